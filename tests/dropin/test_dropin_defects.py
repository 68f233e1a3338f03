"""Differential tests of the defects issue 9 lists (each found in drop-in v1), against the stdlib.

Every case runs on both backends (the ``bk`` fixture); a call that used to spin or block forever
runs in a daemon thread that must finish within a generous bound, so a regression fails the
test instead of hanging the suite.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from typing import Any, Callable

import pytest
from dropin_helpers import LOOPBACK, same_as_stdlib

QUEUED = b"queued"


def _finishes(fn: Callable[[], Any], limit: float = 5.0) -> tuple:
    """Runs ``fn`` in a daemon thread: its outcome, and the thread CPU seconds it used."""
    box: list[Any] = []

    def run() -> None:
        cpu = time.thread_time()
        try:
            box.append(("ok", fn()))
        except Exception as e:
            box.append(("raise", type(e), getattr(e, "errno", None)))
        box.append(time.thread_time() - cpu)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(limit)
    assert not t.is_alive(), f"still blocked after {limit} s"
    return box[0], box[1]


def _queued(conn: Any, peer: socket.socket) -> None:
    peer.send(QUEUED)
    assert select.select([conn], [], [], 5.0)[0], "the datagram did not arrive"


@pytest.mark.parametrize("flags", [socket.MSG_ERRQUEUE, -1])
@pytest.mark.parametrize("call", ["recv", "recvfrom", "recv_into", "recvfrom_into"])
def test_blocking_receive_with_dontwait_or_errqueue_returns_at_once(
    bk, conn, peer, flags: int, call: str
) -> None:
    """Blocking mode: a real blocking call returns EAGAIN at once with these flags (v1 spun at
    100% of a core forever with a datagram queued, or blocked for MSG_DONTWAIT)."""
    _queued(conn, peer)
    conn.settimeout(None)
    fn = {
        "recv": lambda: conn.recv(10, flags),
        "recvfrom": lambda: conn.recvfrom(10, flags),
        "recv_into": lambda: conn.recv_into(bytearray(10), 0, flags),
        "recvfrom_into": lambda: conn.recvfrom_into(bytearray(10), 0, flags),
    }[call]
    got, _ = _finishes(fn)
    assert got == ("raise", BlockingIOError, 11)
    assert conn.recv(10) == QUEUED  # still queued


def test_errqueue_with_a_timeout_times_out_without_spinning(bk, conn, peer) -> None:
    """Timeout mode: both time out (the stdlib polls again and again); udpeco sleeps meanwhile."""
    _queued(conn, peer)
    conn.settimeout(0.3)
    got, cpu = _finishes(lambda: conn.recv(10, socket.MSG_ERRQUEUE))
    assert got == ("raise", TimeoutError, None)
    if bk.name == "udpeco":
        assert cpu < 0.15, f"{cpu:.3f} s of CPU in a 0.3 s wait"


@pytest.mark.parametrize("call", ["recv", "recvfrom", "recv_into", "recvfrom_into"])
def test_blocking_receive_after_shutdown_rd(bk, conn, peer, call: str) -> None:
    """After shutdown(SHUT_RD) a blocking receive returns an empty datagram from no address at
    once (v1 spun forever); queued data comes first."""
    conn.settimeout(None)
    _queued(conn, peer)
    conn.shutdown(socket.SHUT_RD)
    fn = {
        "recv": lambda: conn.recv(10),
        "recvfrom": lambda: conn.recvfrom(10),
        "recv_into": lambda: conn.recv_into(bytearray(10)),
        "recvfrom_into": lambda: conn.recvfrom_into(bytearray(10)),
    }[call]
    first, _ = _finishes(fn)
    assert first[0] == "ok" and first[1] not in (b"", 0, (b"", None), (0, None))
    then, _ = _finishes(fn)
    empty = {"recv": b"", "recv_into": 0, "recvfrom": (b"", None), "recvfrom_into": (0, None)}
    assert then == ("ok", empty[call])


def _sleeping(tid: int) -> bool:
    try:
        with open(f"/proc/self/task/{tid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "S"
    except FileNotFoundError:
        return False


def test_close_while_another_thread_waits_never_steals_a_reused_descriptor(bk, peer) -> None:
    """A thread waits with a timeout; another closes the socket and opens a new one, which
    reuses the descriptor number and gets a datagram. The waiter must fail (EBADF or a timeout)
    and never receive the new socket's datagram (v1: 7 of 60 trials did)."""
    # The stdlib only notices the close when its timeout expires: fewer, shorter trials.
    trials, timeout = (30, 2.0) if bk.name == "udpeco" else (8, 0.25)
    for _ in range(trials):
        old = bk.udp()
        old.bind((LOOPBACK, 0))
        old.settimeout(timeout)
        number = old.fileno()
        box: list[Any] = []
        ready = threading.Event()

        def wait(sock: Any = old, box: list[Any] = box, ready: threading.Event = ready) -> None:
            box.append(threading.get_native_id())
            ready.set()
            try:
                box.append(("ok", sock.recvfrom(100)))
            except OSError as e:
                box.append(("raise", type(e), e.errno))

        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        ready.wait(5)
        deadline = time.monotonic() + 5
        while not _sleeping(box[0]) and time.monotonic() < deadline:
            time.sleep(0.001)
        old.close()
        new = bk.udp()
        try:
            new.bind((LOOPBACK, 0))
            new.settimeout(5.0)
            assert new.fileno() == number  # the number was reused
            peer.sendto(b"for the new socket", new.getsockname())
            assert new.recvfrom(100)[0] == b"for the new socket"
            waiter.join(5)
            assert not waiter.is_alive()
            assert box[1] in (("raise", OSError, 9), ("raise", TimeoutError, None)), box[1]
            if bk.name == "udpeco":  # it sees the close within a poll slice
                assert box[1] == ("raise", OSError, 9)
        finally:
            new.close()


def test_dontwait_on_a_blocking_socket_sends_and_receives_once(bk, conn, peer) -> None:
    """A blocking socket with MSG_DONTWAIT: one attempt (v1 blocked)."""
    conn.settimeout(None)
    for fn in (
        lambda: conn.recv(10, socket.MSG_DONTWAIT),
        lambda: conn.recvfrom(10, socket.MSG_DONTWAIT),
    ):
        got, _ = _finishes(fn)
        assert got == ("raise", BlockingIOError, 11)
    _queued(conn, peer)
    assert conn.recv(10, socket.MSG_DONTWAIT) == QUEUED
    assert conn.send(b"y", socket.MSG_DONTWAIT) == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.recv(0),
        lambda s: s.recv_into(bytearray(0)),
        lambda s: s.recv_into(bytearray(0), 0, 0),
        lambda s: s.recv_into(memoryview(bytearray(4))[:0]),
    ],
    ids=["recv0", "recv_into_empty", "recv_into_empty_flags", "recv_into_empty_view"],
)
def test_receiving_nothing_leaves_the_datagram_queued(bk, conn, peer, call) -> None:
    """The stdlib returns at once without a system call (v1 consumed the datagram)."""
    conn.settimeout(5.0)
    _queued(conn, peer)
    assert call(conn) in (b"", 0)
    assert conn.recv(10) == QUEUED


def test_recv_zero_on_a_closed_socket_is_empty_as_in_the_stdlib(bk) -> None:
    s = bk.udp()
    s.close()
    assert s.recv(0) == b""
    with pytest.raises(OSError) as info:
        s.recvfrom(0)
    assert info.value.errno == 9


def test_non_contiguous_memoryview(bk, sock, peer) -> None:
    strided = memoryview(b"abcdef")[::2]
    writable = memoryview(bytearray(8))[::2]

    def steps(b: Any) -> Any:
        out = []
        for fn in (
            lambda: sock.sendto(strided, peer.getsockname()),
            lambda: sock.recv_into(writable),
            lambda: sock.recvfrom_into(writable),
        ):
            try:
                out.append(("ok", fn()))
            except Exception as e:
                out.append(
                    (
                        type(e).__name__,
                        str(e).replace("recvfrom_into", "X").replace("recv_into", "X"),
                    )
                )
        return out

    got = same_as_stdlib(bk, steps)
    assert got[1][0][0] == "BufferError"


@pytest.mark.parametrize(
    "address",
    [
        ("::1", 9, 0, -1),
        ("::1", 9, -1, 0),
        ("::1", 9, 2**40 + 1, 0),
        ("::1", 9, 0, 2**33),
        ("::1", 9, 0.5, 0),
        ("::1", 70000, 0, -1),
        ("::1", 2**40),
        ("::1", "9"),
        (9, 70000),
        ("127.0.0.1", 70000),
    ],
)
def test_ipv6_addresses_scope_flow_and_check_order(bk, address) -> None:
    """Scope id and flow label are taken modulo 2**32 (-1 is accepted); the host is resolved
    before the port's range is checked, after the port's type."""

    def steps(b: Any) -> Any:
        s = b.udp(socket.AF_INET6)
        try:
            s.settimeout(0)
            return s.sendto(b"x", address)
        finally:
            s.close()

    same_as_stdlib(bk, steps)


@pytest.mark.parametrize("address", [("::1", 70000), ("::1", 9), (b"::1", 70000), (1, "x")])
def test_host_is_resolved_before_the_port_range_is_checked(bk, address) -> None:
    """On an AF_INET socket '::1' fails in the lookup (gaierror), before the port's range."""

    def steps(b: Any) -> Any:
        with b.udp() as s:
            return s.sendto(b"x", address)

    same_as_stdlib(bk, steps)


def test_no_inherited_nonblocking_flag(bk, closing) -> None:
    """O_NONBLOCK is what the stdlib sets in each mode (v1's descriptor was always non-blocking)."""
    import fcntl

    s = closing(bk.udp())
    flags = []
    for timeout in (None, 0.0, 1.5, None):
        s.settimeout(timeout)
        flags.append(bool(fcntl.fcntl(s.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK))
    assert flags == [False, True, True, False]


def test_blocking_receive_with_a_full_error_queue_waits_quietly(bk, closing) -> None:
    """IP_RECVERR and an ICMP error queued: poll reports POLLERR until the queue is read, so a
    blocking receive must wait without spinning (the stdlib blocks in the kernel) and return
    the next datagram."""
    s = closing(bk.udp())
    s.bind((LOOPBACK, 0))
    s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_RECVERR", 11), 1)  # Linux: 11
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.bind((LOOPBACK, 0))
    dead = closed.getsockname()
    closed.close()
    s.sendto(b"nobody", dead)
    s.settimeout(5.0)
    with pytest.raises(ConnectionRefusedError):  # the ICMP error, once
        s.recvfrom(10)
    s.settimeout(None)
    sender = closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    sender.bind((LOOPBACK, 0))
    s.connect(sender.getsockname())  # no stray datagrams; the error queue stays
    poller = select.poll()
    poller.register(s, select.POLLIN)
    assert poller.poll(0) == [(s.fileno(), select.POLLERR)]  # ready, with nothing to read
    waiter = threading.Thread(target=lambda: box.append(_finishes(lambda: s.recvfrom(10))))
    box: list[Any] = []
    waiter.start()
    time.sleep(0.5)  # the point: how much CPU a half-second wait costs
    sender.sendto(b"wake", s.getsockname())
    waiter.join(5)
    (got, cpu) = box[0]
    assert got == ("ok", (b"wake", sender.getsockname()))
    assert cpu < 0.25, f"{cpu:.3f} s of CPU in a 0.5 s wait"
