"""The typed shape of the dicts udpeco returns (for annotations and type checkers).

The engines return plain dicts; these classes (re-exported by ``udpeco``) name their keys and
value types, for annotations such as ``def show(report: udpeco.BenchReport) -> None``.
"""

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
    """Dropped by the guard: sent from a reflector port (``LIMITS["reflector_ports"]``)."""
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


# ---- udpeco.bench (docs/bench.md lists every key) ------------------------------------------


class BenchLatency(TypedDict):
    """Round-trip times in microseconds (all 0 when nothing was received)."""

    p50_us: float
    p90_us: float
    p99_us: float
    p999_us: float
    p9999_us: float
    min_us: float
    max_us: float
    mean_us: float


class BenchCounts(TypedDict):
    """The counts a report and each interval share."""

    sent: int
    """Datagrams sent (in the measured phase, after the warm-up)."""
    received: int
    """First replies in time, each datagram counted once."""
    late: int
    """Replies that came after their datagram was given up."""
    duplicates: int
    """Second and later replies to one datagram."""
    out_of_order: int
    """First replies whose sequence number is below the highest received before."""
    stray: int
    """Datagrams that match nothing sent."""


class BenchInterval(BenchCounts, BenchLatency):
    """One ``interval`` of :class:`BenchReport` (its round trips' percentiles, timed from the
    due time)."""

    start: float
    """Seconds since the end of the warm-up."""
    end: float
    lost: int
    """Datagrams given up during the interval."""
    rate: float
    """Echoes per second in the interval."""
    jitter_us: float
    """RFC 3550 interarrival jitter at the end of the interval."""
    uncorrected: BenchLatency
    """The same percentiles timed from the actual send."""


class BenchReport(BenchCounts, BenchLatency):
    """What :func:`udpeco.bench` returns (and ``udpeco bench --json`` prints); percentiles are
    timed from the due time (wrk2's correction)."""

    lost: int
    """``sent - received``."""
    rate: float
    """``received`` during the sending phase / ``elapsed`` (echoes per second)."""
    jitter_us: float
    """RFC 3550 interarrival jitter at the end."""
    uncorrected: BenchLatency
    """The same percentiles timed from the actual send."""
    elapsed: float
    """Seconds of the measured sending phase."""
    warmup: float
    """Seconds of warm-up left out."""
    cpu: float
    """CPU seconds (user + system) of the load's thread in the measured phase."""
    intervals: list[BenchInterval]
    """One per ``interval`` (empty without it)."""
    gso: bool
    """Batches were sent with UDP GSO."""
    gro: bool
    """Replies were received with UDP GRO."""


class BenchProgress(TypedDict):
    """What ``bench(progress=...)`` is called with, about once a second (or each interval)."""

    elapsed: float
    """Seconds since the end of the warm-up."""
    sent: int
    received: int
    lost: int
    """So far."""
    rate: float
    """Echoes per second over the last interval."""
    interval: BenchInterval
    """That interval."""


# ---- udpeco.Proxy ---------------------------------------------------------------------------


class ProxyDirectionStats(TypedDict):
    """The counters of one direction of a :class:`Proxy` (``up``: clients to target)."""

    received: int
    forwarded: int
    """Copies sent on, duplicates included."""
    dropped: int
    """Lost on purpose (``loss``)."""
    duplicated: int
    reordered: int
    delayed: int
    overflow: int
    """Dropped because the delay queue was full (``queue_bytes``)."""
    send_errors: int


class ProxyStats(TypedDict):
    """What ``Proxy.stats()`` returns (and ``udpeco proxy --json`` prints at exit)."""

    up: ProxyDirectionStats
    down: ProxyDirectionStats
    clients: int
    """Distinct clients (source addresses) seen."""
    rejected: int
    """Datagrams from new clients refused past ``max_clients``."""
    queued_bytes: int
    """Bytes waiting in the delay queue now."""
