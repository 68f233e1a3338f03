"""Fixtures of the differential drop-in suite.

Every test takes the ``bk`` fixture and runs the SAME steps twice: once with the stdlib
(``bk.mod is socket``, ``bk.select is select.select``) and once with udpeco
(``bk.mod is udpeco``, ``bk.select is udpeco.select``). The assertions are the stdlib's
observed behaviour, so the stdlib run proves each expectation and the udpeco run must match it.
Where a value depends on the machine (buffer sizes, name resolution), the test compares the
backend's outcome with the stdlib's outcome computed in the same run (:func:`same_as_stdlib`).

Peers that only serve as the other end of a datagram are always stdlib sockets, so each test
exercises exactly one backend. Receiving sockets are ``connect``-ed to their peer where a stray
datagram from another program on the machine (a scanner, say) could change the result: a
connected UDP socket only accepts datagrams from its peer.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from dropin_helpers import LOOPBACK, STDLIB, Backend


def _udpeco_backend() -> Backend:
    import udpeco

    return Backend("udpeco", udpeco, udpeco.select)


@pytest.fixture(params=["stdlib", "udpeco"])
def bk(request: pytest.FixtureRequest) -> Backend:
    """The backend under test: the stdlib, then udpeco."""
    if request.param == "stdlib":
        return STDLIB
    return _udpeco_backend()


@pytest.fixture
def closing():
    """Collects sockets (or anything with close()) and closes them after the test."""
    items: list[Any] = []

    def add(obj: Any) -> Any:
        items.append(obj)
        return obj

    yield add
    for obj in reversed(items):
        try:
            obj.close()
        except OSError:
            pass


@pytest.fixture
def peer(closing) -> socket.socket:
    """A stdlib UDP socket bound to an ephemeral loopback port: the other end."""
    s = closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    s.bind((LOOPBACK, 0))
    s.settimeout(2.0)
    return s


@pytest.fixture
def sock(bk: Backend, closing) -> Any:
    """A socket of the backend under test bound to an ephemeral loopback port."""
    s = closing(bk.udp())
    s.bind((LOOPBACK, 0))
    return s


@pytest.fixture
def conn(sock: Any, peer: socket.socket) -> Any:
    """``sock`` connected to ``peer`` (and ``peer`` to it): only the peer's datagrams arrive."""
    sock.connect(peer.getsockname())
    peer.connect(sock.getsockname())
    return sock
