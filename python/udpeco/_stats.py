"""The typed shape of the dicts udpeco returns (for annotations and type checkers)."""

from __future__ import annotations

from typing import TypedDict


class EchoStats(TypedDict):
    """The counters of an :class:`EchoServer` (``stats``, and what ``run()`` returns).

    ``EchoServer.stats`` and ``EchoServer.run()`` return a plain dict with these keys; this
    class is for annotations (``def report(stats: udpeco.EchoStats) -> None``).
    """

    datagrams: int
    """Datagrams received (answered or not)."""
    bytes: int
    """Their bytes, as received (before ``bufsize`` truncates the echo)."""
    clients: int
    """Distinct senders (address and port)."""
    drops: int
    """Datagrams not answered (the guard's, a full ``delay_queue``) and log lines lost."""
    self: int
    """Dropped by the guard: sent from one of the server's own ports."""
    port0: int
    """Dropped by the guard: sent from port 0."""
    reflector_port: int
    """Dropped by the guard: sent from a reflector port (``ECHO_LIMITS["reflector_ports"]``)."""
    denied: int
    """Dropped: the sender is in ``deny``."""
    not_allowed: int
    """Dropped: ``allow`` is given and the sender is not in it."""
    rate_limited: int
    """Dropped: the sender went over ``rate_limit``/``burst``."""
    table_full: int
    """Dropped: too many senders tracked by the rate limit at once."""
    unprinted: int
    """Lines not printed because stdout was too slow (the echo never waits for it)."""
