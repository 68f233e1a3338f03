"""Blocking, non-blocking and timeout modes: settimeout/gettimeout, setblocking/getblocking."""

from __future__ import annotations

import socket
import time

import pytest
from dropin_helpers import raises_exactly


def test_timeout_and_blocking_state_machine(sock) -> None:
    assert (sock.gettimeout(), sock.getblocking()) == (None, True)
    assert sock.settimeout(1) is None
    assert (sock.gettimeout(), sock.getblocking()) == (1.0, True)
    assert type(sock.gettimeout()) is float
    sock.settimeout(0.25)
    assert (sock.gettimeout(), sock.getblocking()) == (0.25, True)
    sock.settimeout(0)
    assert (sock.gettimeout(), sock.getblocking()) == (0.0, False)
    sock.settimeout(None)
    assert (sock.gettimeout(), sock.getblocking()) == (None, True)
    sock.settimeout(3)
    assert sock.setblocking(True) is None
    assert (sock.gettimeout(), sock.getblocking()) == (None, True)
    sock.settimeout(3)
    sock.setblocking(False)
    assert (sock.gettimeout(), sock.getblocking()) == (0.0, False)
    sock.setblocking(1)
    assert (sock.gettimeout(), sock.getblocking()) == (None, True)
    sock.setblocking(0)
    assert (sock.gettimeout(), sock.getblocking()) == (0.0, False)


def test_default_timeout_applies_to_new_sockets(bk, closing) -> None:
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(2.5)
    try:
        s = closing(bk.udp())
    finally:
        socket.setdefaulttimeout(old)
    assert (s.gettimeout(), s.getblocking()) == (2.5, True)


def test_settimeout_bad_values(sock) -> None:
    raises_exactly(lambda: sock.settimeout(-1), ValueError, message="Timeout value out of range")
    raises_exactly(
        lambda: sock.settimeout(float("nan")),
        ValueError,
        message="Invalid value NaN (not a number)",
    )
    raises_exactly(
        lambda: sock.settimeout(float("inf")),
        OverflowError,
        message="timestamp out of range for platform time_t",
    )
    raises_exactly(
        lambda: sock.settimeout("1"),
        TypeError,
        message="'str' object cannot be interpreted as an integer",
    )
    raises_exactly(
        lambda: sock.setblocking(None),
        TypeError,
        message="'NoneType' object cannot be interpreted as an integer",
    )
    assert sock.gettimeout() is None


@pytest.mark.parametrize("call", ["recvfrom", "recv", "recvfrom_into"])
def test_timeout_expires(conn, call: str) -> None:
    conn.settimeout(0.1)
    fn = {
        "recvfrom": lambda: conn.recvfrom(10),
        "recv": lambda: conn.recv(10),
        "recvfrom_into": lambda: conn.recvfrom_into(bytearray(10)),
    }[call]
    start = time.monotonic()
    e = raises_exactly(fn, TimeoutError, None, "timed out")
    elapsed = time.monotonic() - start
    assert isinstance(e, socket.timeout)
    assert e.args == ("timed out",)
    assert e.strerror is None
    assert 0.09 <= elapsed < 1.0


def test_timeout_then_data(conn, peer) -> None:
    conn.settimeout(0.05)
    with pytest.raises(socket.timeout):
        conn.recvfrom(10)
    peer.send(b"late")
    assert conn.recvfrom(10) == (b"late", peer.getsockname())


@pytest.mark.parametrize("how", ["setblocking", "settimeout0"])
@pytest.mark.parametrize("call", ["recvfrom", "recv", "recvfrom_into"])
def test_nonblocking_nothing_to_read(conn, peer, how: str, call: str) -> None:
    if how == "setblocking":
        conn.setblocking(False)
    else:
        conn.settimeout(0.0)
    fn = {
        "recvfrom": lambda: conn.recvfrom(10),
        "recv": lambda: conn.recv(10),
        "recvfrom_into": lambda: conn.recvfrom_into(bytearray(10)),
    }[call]
    e = raises_exactly(fn, BlockingIOError, 11, "[Errno 11] Resource temporarily unavailable")
    assert isinstance(e, socket.error)
    assert e.args == (11, "Resource temporarily unavailable")
    peer.send(b"now")
    deadline = time.monotonic() + 2
    while True:  # bounded: the datagram is on loopback, it arrives within microseconds
        try:
            got = fn()
            break
        except BlockingIOError:
            assert time.monotonic() < deadline
            time.sleep(0.001)
    assert got in ((b"now", peer.getsockname()), b"now", (3, peer.getsockname()))


def test_nonblocking_sendto_works(bk, closing, peer) -> None:
    s = closing(bk.udp())
    s.setblocking(False)
    assert s.sendto(b"nb", peer.getsockname()) == 2
    assert peer.recv(10) == b"nb"
