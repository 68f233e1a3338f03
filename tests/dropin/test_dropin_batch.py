"""Batch I/O beyond the stdlib: recv_many, send_many, UDP GSO/GRO.

There is no stdlib call to compare with, so each result is compared with what the stdlib's
one-datagram calls see on the other end (``recvfrom`` of every datagram ``send_many`` sent,
``sendto`` of every datagram ``recv_many`` returned), and errors with the stdlib's
``recvfrom``/``sendto`` on an identical socket.
"""

from __future__ import annotations

import select
import socket
import struct
from typing import Any

import pytest
import udpeco
from msg_helpers import STDLIB, UDPECO_APIS, Api, outcome

LO = "127.0.0.1"


@pytest.fixture(params=sorted(UDPECO_APIS))
def api(request: pytest.FixtureRequest) -> Api:
    return UDPECO_APIS[request.param]


@pytest.fixture
def net(api: Api, closing) -> Any:
    class Net:
        def sock(self, family: int = socket.AF_INET) -> Any:
            s = closing(api.make(family))
            s.bind((LO if family == socket.AF_INET else "::1", 0))
            return s

        def peer(self, family: int = socket.AF_INET) -> socket.socket:
            s = closing(socket.socket(family, socket.SOCK_DGRAM))
            s.bind((LO if family == socket.AF_INET else "::1", 0))
            s.settimeout(2.0)
            return s

    return Net()


def drain(sock: Any, count: int) -> list:
    """``count`` datagrams read with the stdlib's recvfrom (waiting at most 2 s each)."""
    return [sock.recvfrom(70000) for _ in range(count)]


def payloads(count: int, size: int) -> list[bytes]:
    """``count`` distinct payloads of ``size`` bytes (so that order is checked too)."""
    return [struct.pack("!I", i).ljust(size, b"x")[:size] for i in range(count)]


def collect(api: Api, sock: Any, count: int, max_count: int, bufsize: int) -> list:
    """Calls recv_many until ``count`` datagrams came; checks each call's size bound."""
    got: list = []
    sock.settimeout(2.0)
    while len(got) < count:
        batch = api.recv_many(sock, max_count, bufsize)
        assert 1 <= len(batch) <= max(max_count, 64)
        got.extend(batch)
    return got


def gro_on(sock: Any) -> None:
    sock.setsockopt(udpeco.SOL_UDP, udpeco.UDP_GRO, 1)


# --- send_many ---------------------------------------------------------------------------


def test_send_many_mixed_sizes_and_peers(api: Api, net: Any) -> None:
    s, p1, p2 = net.sock(), net.peer(), net.peer()
    a1, a2 = p1.getsockname(), p2.getsockname()
    items = [(b"one", a1), (b"", a1), (bytearray(b"two"), a2), (memoryview(b"three"), a1)]
    items += [(d, a2) for d in payloads(100, 40)]
    assert api.send_many(s, items) == len(items)
    me = s.getsockname()
    assert drain(p1, 3) == [(b"one", me), (b"", me), (b"three", me)]
    assert drain(p2, 101) == [(b"two", me)] + [(d, me) for d in payloads(100, 40)]


def test_send_many_to_the_connected_peer(api: Api, net: Any) -> None:
    s, p = net.sock(), net.peer()
    s.connect(p.getsockname())
    data = payloads(10, 8)
    assert api.send_many(s, ((d, None) for d in data)) == 10
    assert drain(p, 10) == [(d, s.getsockname()) for d in data]
    assert api.send_many(s, []) == 0


def test_send_many_uses_gso_for_a_run_of_equal_size(api: Api, net: Any) -> None:
    # A GRO receiver shows how the datagrams travelled: one coalesced buffer per GSO send.
    s, p = net.sock(), net.peer()
    gro_on(p)
    data = payloads(10, 100)
    assert api.send_many(s, [(d, p.getsockname()) for d in data]) == 10
    buf, anc, flags, _ = p.recvmsg(70000, 1024)
    assert (buf, anc, flags) == (b"".join(data), [(socket.SOL_UDP, udpeco.UDP_GRO, b"d\0\0\0")], 0)


@pytest.mark.parametrize("size", [1, 100, 1400, 30000])
def test_send_many_gso_runs_reach_a_plain_receiver_as_datagrams(
    api: Api, net: Any, size: int
) -> None:
    s, p = net.sock(), net.peer()
    p.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    data = payloads(150, size)
    assert api.send_many(s, [(d, p.getsockname()) for d in data]) == 150
    assert drain(p, 150) == [(d, s.getsockname()) for d in data]


def test_send_many_errors_match_sendto(api: Api, net: Any) -> None:
    s, p = net.sock(), net.peer()
    to = p.getsockname()
    cases: list = [
        5,
        [b"x"],
        [(b"x",)],
        [("x", to)],
        [(b"x", "x")],
        [(b"x", (LO, 70000))],
        [(b"x" * 65508, to)],
        [(b"x", (LO, 0))],
    ]
    ref_sock = STDLIB.make(socket.AF_INET)
    try:
        for items in cases:
            got = outcome(lambda items=items: api.send_many(s, items))
            assert got[0] == "raise", items
            if isinstance(items, list) and isinstance(items[0], tuple) and len(items[0]) == 2:
                ref = outcome(lambda items=items: ref_sock.sendto(*items[0]))
                assert got[1:3] == ref[1:3], (items, got, ref)
    finally:
        ref_sock.close()
    s.close()
    assert outcome(lambda: api.send_many(s, [(b"x", to)]))[1:3] == (OSError, 9)


# --- recv_many ---------------------------------------------------------------------------


@pytest.mark.parametrize("bufsize", [0, 3, 2048])
def test_recv_many_returns_what_recvfrom_would(api: Api, net: Any, bufsize: int) -> None:
    s, p = net.sock(), net.peer()
    s.connect(p.getsockname())  # no strays
    data = [b"", b"a", b"hello world"] + payloads(50, 20)
    for d in data:
        p.sendto(d, s.getsockname())
    got = collect(api, s, len(data), 1000, bufsize)
    assert got == [(d[:bufsize], p.getsockname()) for d in data]
    assert all(type(d) is bytes and type(a) is tuple for d, a in got)


def test_recv_many_respects_max_count(api: Api, net: Any) -> None:
    s, p = net.sock(), net.peer()
    s.connect(p.getsockname())
    for d in payloads(10, 4):
        p.sendto(d, s.getsockname())
    assert select.select([s], [], [], 2.0)[0]
    assert [d for d, _ in api.recv_many(s, 7, 100)] == payloads(10, 4)[:7]
    assert [d for d, _ in api.recv_many(s, 7, 100)] == payloads(10, 4)[7:]


@pytest.mark.parametrize("bufsize", [50, 2048])
def test_recv_many_splits_gro_buffers(api: Api, net: Any, bufsize: int) -> None:
    s, tx = net.sock(), net.peer()
    s.connect(tx.getsockname())
    gro_on(s)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    data = payloads(300, 100)
    for i in range(0, 300, 30):  # GSO sends of 30: coalesced on the way in
        seg = [(socket.SOL_UDP, udpeco.UDP_SEGMENT, struct.pack("H", 100))]
        tx.sendmsg(data[i : i + 30], seg, 0, s.getsockname())
    tx.sendto(b"single", s.getsockname())
    got = collect(api, s, 301, 64, bufsize)
    want = [(d[:bufsize], tx.getsockname()) for d in data + [b"single"]]
    assert got == want


def test_recv_many_ipv6_addresses(api: Api, net: Any) -> None:
    try:
        s, p = net.sock(socket.AF_INET6), net.peer(socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback")
    p.sendto(b"six", s.getsockname())
    assert select.select([s], [], [], 2.0)[0]
    ((data, addr),) = api.recv_many(s, 10, 10)
    assert (data, addr) == (b"six", p.getsockname())
    assert api.send_many(s, [(b"back", p.getsockname()[:2])]) == 1
    assert p.recvfrom(10) == (b"back", s.getsockname())


@pytest.mark.parametrize("setup", ["nonblocking", "timeout", "closed"])
def test_recv_many_errors_match_recvfrom(api: Api, net: Any, setup: str) -> None:
    def steps(sock: Any, call: Any) -> tuple:
        sock.bind((LO, 0))
        if setup == "nonblocking":
            sock.setblocking(False)
        elif setup == "timeout":
            sock.settimeout(0.05)
        else:
            sock.close()
        return outcome(call)

    s = api.make(socket.AF_INET)
    ref = STDLIB.make(socket.AF_INET)
    try:
        got = steps(s, lambda: api.recv_many(s, 10, 100))
        want = steps(ref, lambda: ref.recvfrom(100))
    finally:
        s.close()
        ref.close()
    assert got == want


@pytest.mark.parametrize(
    ("args", "cls"),
    [((0, 10), ValueError), ((-1, 10), ValueError), ((10, -1), ValueError), (("1", 10), TypeError)],
)
def test_recv_many_argument_errors(api: Api, net: Any, args: tuple, cls: type) -> None:
    s = net.sock()
    with pytest.raises(cls):
        api.recv_many(s, *args)
