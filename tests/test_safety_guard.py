"""The loop and reflection guard (issue 10, point 1), measured with real spoofed datagrams.

Raw sockets (``IP_HDRINCL``, root only) send UDP datagrams whose source address and port are
whatever the test says: the server's own address and port, another server's, port 0, port 19
(chargen). The servers are real ``udpeco.EchoServer`` engines on a random loopback address.
"""

from __future__ import annotations

import os
import socket
import struct
import time

import pytest
from echo_helpers import LOOP, ask, client, wait_until
from udpeco import EchoServer

GUARD_KEYS = ("self", "port0", "reflector_port", "denied", "not_allowed", "rate_limited")


def spoof(src: tuple[str, int], dst: tuple[str, int], payload: bytes) -> None:
    """Sends one UDP datagram from `src` (any address and port) to `dst`, by hand."""
    try:
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    except PermissionError:
        pytest.skip("raw sockets need root (CAP_NET_RAW)")
    with raw:
        raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0)  # checksum 0: none
        ip = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(udp) + len(payload),
            os.getpid() & 0xFFFF,
            0,
            64,
            socket.IPPROTO_UDP,
            0,  # the kernel fills in the header checksum
            socket.inet_aton(src[0]),
            socket.inet_aton(dst[0]),
        )
        raw.sendto(ip + udp + payload, (dst[0], 0))


def settled(servers: list[EchoServer], quiet_for: float = 0.3, limit: float = 10.0) -> float:
    """Waits until no server's counters move for `quiet_for` s; returns when they last moved."""
    start = time.monotonic()
    last = [dict(s.stats) for s in servers]
    moved = start
    while time.monotonic() - moved < quiet_for:
        assert time.monotonic() - start < limit, f"still moving after {limit} s: {last}"
        time.sleep(0.02)
        now = [dict(s.stats) for s in servers]
        if now != last:
            last, moved = now, time.monotonic()
    return moved - start


def test_a_datagram_from_the_server_itself_is_echoed_zero_times() -> None:
    with EchoServer(port=0, host=LOOP, quiet=True) as srv:
        (port,) = srv.ports
        spoof((LOOP, port), (LOOP, port), b"storm")
        assert wait_until(lambda: srv.stats["self"] == 1)
        settled([srv])
        stats = srv.stats
        assert stats["datagrams"] == 0 and stats["self"] == 1, stats
        # The same from another local address with the server's port (a 0.0.0.0 server's
        # other addresses; FreeBSD inetd's check_loop refuses the port from anywhere).
        spoof(("127.0.0.1", port), (LOOP, port), b"storm")
        assert wait_until(lambda: srv.stats["self"] == 2)
        assert ask(client(), port, b"still serving") == b"still serving"
        assert srv.stats["datagrams"] == 1


def test_two_servers_aimed_at_each_other_stop_within_one_second() -> None:
    with (
        EchoServer(port=0, host=LOOP, quiet=True) as a,
        EchoServer(port=0, host=LOOP, quiet=True) as b,
    ):
        (pa,), (pb,) = a.ports, b.ports
        spoof((LOOP, pa), (LOOP, pb), b"ping-pong")
        assert wait_until(lambda: b.stats["datagrams"] >= 1)
        took = settled([a, b])
        sa, sb = a.stats, b.stats
        assert took < 1.0, f"the loop ran {took:.2f} s: {sa} {sb}"
        assert sa["rate_limited"] + sb["rate_limited"] == 1, "one drop ends a one-datagram loop"
        # The loop ran until a bucket was empty: about the default burst, not forever.
        assert 1000 <= sa["datagrams"] + sb["datagrams"] < 20_000


def test_the_loop_really_happens_without_the_guard() -> None:
    """The same spoofed datagram with guard=False loops (so the test above can fail)."""
    with (
        EchoServer(port=0, host=LOOP, quiet=True, guard=False) as a,
        EchoServer(port=0, host=LOOP, quiet=True, guard=False) as b,
    ):
        spoof((LOOP, a.ports[0]), (LOOP, b.ports[0]), b"ping-pong")
        assert wait_until(lambda: b.stats["datagrams"] > 5000), b.stats
        a.stop()  # ends the loop


def test_port_0_and_reflector_ports_are_dropped_and_counted() -> None:
    with EchoServer(port=0, host=LOOP, quiet=True) as srv:
        (port,) = srv.ports
        for sport in (0, 19, 7, 53, 123, 161, 11211):
            spoof((LOOP, sport), (LOOP, port), b"reflect me")
        assert wait_until(lambda: srv.stats["port0"] == 1 and srv.stats["reflector_port"] == 6)
        assert srv.stats["datagrams"] == 0
        assert ask(client(), port, b"ok") == b"ok"


def test_without_the_guard_reflector_ports_are_answered() -> None:
    with EchoServer(port=0, host=LOOP, quiet=True, guard=False) as srv:
        spoof((LOOP, 19), (LOOP, srv.ports[0]), b"chargen?")
        assert wait_until(lambda: srv.stats["datagrams"] == 1)
        assert all(srv.stats[k] == 0 for k in GUARD_KEYS)


def test_per_source_rate_limit_and_burst() -> None:
    with EchoServer(port=0, host=LOOP, quiet=True, rate_limit=5, burst=5) as srv:
        c = client(timeout=0.3)
        for i in range(40):
            c.sendto(b"%d" % i, (LOOP, srv.ports[0]))
        replies = 0
        try:
            while True:
                c.recvfrom(100)
                replies += 1
        except TimeoutError:
            pass
        stats = srv.stats
        assert 5 <= replies <= 10, replies
        assert stats["rate_limited"] == 40 - stats["datagrams"] >= 30


def test_allow_and_deny_lists() -> None:
    with EchoServer(port=0, host=LOOP, quiet=True, deny="10.0.0.0/8, 127.0.0.1") as srv:
        c = client(timeout=0.3)
        c.sendto(b"no", (LOOP, srv.ports[0]))
        with pytest.raises(TimeoutError):
            c.recvfrom(100)
        assert srv.stats["denied"] == 1
    with EchoServer(port=0, host=LOOP, quiet=True, allow=["192.168.0.0/16"]) as srv:
        c.sendto(b"no", (LOOP, srv.ports[0]))
        assert wait_until(lambda: srv.stats["not_allowed"] == 1)
    with EchoServer(port=0, host=LOOP, quiet=True, allow="127.0.0.0/8,::1") as srv:
        assert ask(c, srv.ports[0], b"yes") == b"yes"
    with pytest.raises(ValueError, match='invalid address "nope"'):
        EchoServer(port=0, host=LOOP, allow="nope")
