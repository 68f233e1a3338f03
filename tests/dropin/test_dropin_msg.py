"""sendmsg, recvmsg and recvmsg_into against the stdlib's, differentially.

Each test's steps run on a udpeco implementation (see msg_helpers) and on the stdlib in the
same run, on fresh loopback sockets, and the outcomes must be equal: results, ``msg_flags``,
ancillary tuples byte for byte, warnings, exception classes, errno and messages. Addresses are
compared as labels ("sock", "peer", ...) because ports are ephemeral.
"""

from __future__ import annotations

import array
import os
import socket
import struct
import threading
import time
from contextlib import ExitStack
from typing import Any

import hypothesis
import hypothesis.strategies as st
import pytest
import udpeco
from msg_helpers import STDLIB, UDPECO_APIS, Api, labelled, same_as_stdlib

LO = "127.0.0.1"


@pytest.fixture(params=sorted(UDPECO_APIS))
def api(request: pytest.FixtureRequest) -> Api:
    return UDPECO_APIS[request.param]


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


needs_ipv6 = pytest.mark.skipif(not _has_ipv6(), reason="no IPv6 loopback")


class Net(ExitStack):
    """Sockets for one run of a test's steps, closed at the end, with address labels."""

    def __init__(self, api: Api, family: int = socket.AF_INET) -> None:
        super().__init__()
        self.api = api
        self.family = family
        self.host = LO if family == socket.AF_INET else "::1"
        self.labels: dict = {}

    def _bound(self, sock: Any, label: str) -> Any:
        self.callback(sock.close)
        sock.bind((self.host, 0))
        self.labels[sock.getsockname()] = label
        return sock

    def sock(self, label: str = "sock") -> Any:
        """A socket of the implementation under test."""
        return self._bound(self.api.make(self.family), label)

    def peer(self, label: str = "peer") -> socket.socket:
        """A stdlib socket: the other end."""
        s = self._bound(socket.socket(self.family, socket.SOCK_DGRAM), label)
        s.settimeout(2.0)
        return s

    def pair(self) -> tuple[Any, socket.socket]:
        """The socket under test connected to a peer (no stray datagrams), and the peer."""
        s, p = self.sock(), self.peer()
        s.connect(p.getsockname())
        p.connect(s.getsockname())
        return s, p

    def closed_port(self) -> tuple:
        """An address where nothing listens (ICMP port unreachable)."""
        s = socket.socket(self.family, socket.SOCK_DGRAM)
        s.bind((self.host, 0))
        addr = s.getsockname()
        s.close()
        self.labels[addr] = "closed"
        return addr

    def out(self, value: Any) -> Any:
        return labelled(value, self.labels)


def wait_readable(sock: Any) -> None:
    """Waits (bounded) until a datagram is queued on ``sock``."""
    import select

    assert select.select([sock], [], [], 2.0)[0], "datagram did not arrive"


# --- plain data --------------------------------------------------------------------------


def test_sendmsg_gathers_and_recvmsg_returns_four_tuple(api: Api) -> None:
    def steps(a: Api) -> Any:
        with Net(a) as n:
            s, p = n.pair()
            sent = a.sendmsg(s, [b"ab", bytearray(b"cd"), memoryview(b"ef")])
            got = p.recvfrom(100)
            p.send(b"reply")
            return n.out((sent, got, a.recvmsg(s, 100)))

    same_as_stdlib(api, steps)


@pytest.mark.parametrize("bufsize", [0, 1, 3, 5, 100])
@pytest.mark.parametrize("flags", [0, socket.MSG_TRUNC, socket.MSG_PEEK])
def test_recvmsg_truncation_flags(api: Api, bufsize: int, flags: int) -> None:
    def steps(a: Api) -> Any:
        with Net(a) as n:
            s, p = n.pair()
            p.send(b"hello")
            p.send(b"next")
            wait_readable(s)
            first = a.recvmsg(s, bufsize, 0, flags)
            return n.out((first, a.recvmsg(s, 100)))

    same_as_stdlib(api, steps)


@pytest.mark.parametrize("flags", [0, socket.MSG_TRUNC])
def test_recvmsg_into_scatters(api: Api, flags: int) -> None:
    def steps(a: Api) -> Any:
        with Net(a) as n:
            s, p = n.pair()
            p.send(b"0123456789")
            bufs = [bytearray(2), memoryview(bytearray(3)), array.array("b", [0] * 2)]
            wait_readable(s)
            r = a.recvmsg_into(s, bufs, 0, flags)
            return n.out((r, [bytes(b) for b in bufs]))

    same_as_stdlib(api, steps)


def test_zero_length_datagram_and_empty_buffer_lists(api: Api) -> None:
    def steps(a: Api) -> Any:
        with Net(a) as n:
            s, p = n.pair()
            sent = a.sendmsg(s, [])
            got = p.recvfrom(10)
            p.send(b"abc")
            wait_readable(s)
            into = a.recvmsg_into(s, [])
            return n.out((sent, got, into, a.recvmsg(s, 10, 0, socket.MSG_DONTWAIT)))

    same_as_stdlib(api, steps)


def test_sendmsg_to_address_and_without(api: Api) -> None:
    def steps(a: Api) -> Any:
        with Net(a) as n:
            s, p = n.sock(), n.peer()
            sent = a.sendmsg(s, [b"to"], [], 0, p.getsockname())
            got = p.recvfrom(10)
            return n.out((sent, got, a.sendmsg(s, [b"nowhere"], [], 0, None)))

    same_as_stdlib(api, steps)


@needs_ipv6
def test_ipv6_addresses_are_four_tuples(api: Api) -> None:
    def steps(a: Api) -> Any:
        with Net(a, socket.AF_INET6) as n:
            s, p = n.sock(), n.peer()
            a.sendmsg(s, [b"six"], (), 0, p.getsockname()[:2])
            got = p.recvfrom(10)
            p.sendto(b"back", s.getsockname())
            wait_readable(s)
            return n.out((got, a.recvmsg(s, 10)))

    same_as_stdlib(api, steps)


# --- ancillary data ----------------------------------------------------------------------


ANCBUFSIZES = [0, 1, 15, 16, 17, socket.CMSG_LEN(12) - 1, socket.CMSG_LEN(12), 28, 32, 1024]


@pytest.mark.parametrize("ancbufsize", ANCBUFSIZES)
def test_ip_pktinfo_and_ctrunc(api: Api, ancbufsize: int) -> None:
    def steps(a: Api) -> Any:
        with Net(a) as n:
            s, p = n.pair()
            s.setsockopt(socket.IPPROTO_IP, udpeco.IP_PKTINFO, 1)
            s.setsockopt(socket.IPPROTO_IP, udpeco.IP_RECVTOS, 1)
            p.send(b"x")
            wait_readable(s)
            return n.out(a.recvmsg(s, 10, ancbufsize))

    same_as_stdlib(api, steps)


def test_ip_tos_sent_as_ancillary_data_is_received(api: Api) -> None:
    def steps(a: Api) -> Any:
        with Net(a) as n:
            s, p = n.pair()
            p.setsockopt(socket.IPPROTO_IP, udpeco.IP_RECVTOS, 1)
            tos = [(socket.IPPROTO_IP, socket.IP_TOS, struct.pack("i", 0x28))]
            a.sendmsg(s, [b"tos"], tos)
            return n.out(p.recvmsg(10, 64))

    out = same_as_stdlib(api, steps)
    assert out[1][1] == [(socket.IPPROTO_IP, socket.IP_TOS, b"\x28")]


@needs_ipv6
def test_ipv6_pktinfo_and_tclass(api: Api) -> None:
    def steps(a: Api) -> Any:
        with Net(a, socket.AF_INET6) as n:
            s, p = n.pair()
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVTCLASS, 1)
            p.sendmsg([b"v6"], [(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, struct.pack("i", 8))])
            wait_readable(s)
            got = a.recvmsg(s, 10, 256)
            tclass = [(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, struct.pack("i", 16))]
            a.sendmsg(s, [b"tc"], tclass)
            p.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVTCLASS, 1)
            return n.out((got, p.recvmsg(10, 64)))

    out = same_as_stdlib(api, steps)
    assert out[1][0][1][0][:2] == (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO)


@pytest.mark.parametrize("option", ["SO_TIMESTAMP", "SO_TIMESTAMPNS"])
def test_receive_timestamps(api: Api, option: str) -> None:
    # The values differ between runs: compare the shape, and check each stamp is "now".
    def steps(a: Api) -> Any:
        with Net(a) as n:
            s, p = n.pair()
            s.setsockopt(socket.SOL_SOCKET, getattr(udpeco, option), 1)
            before = time.time()
            p.send(b"t")
            wait_readable(s)
            data, anc, flags, _ = a.recvmsg(s, 10, 64)
            ((level, kind, raw),) = anc
            sec, frac = struct.unpack("qq", raw)
            stamp = sec + frac / (1e6 if option == "SO_TIMESTAMP" else 1e9)
            assert before - 1 <= stamp <= time.time() + 1
            return data, level, kind, len(raw), flags

    same_as_stdlib(api, steps)


# --- the error queue ---------------------------------------------------------------------


def _queue_an_icmp_error(n: Net, s: Any) -> tuple:
    s.setsockopt(socket.IPPROTO_IP, udpeco.IP_RECVERR, 1)
    dest = n.closed_port()
    s.sendto(b"lost", dest)
    return dest


def test_ip_recverr_error_queue(api: Api) -> None:
    def steps(a: Api) -> Any:
        with Net(a) as n:
            s = n.sock()
            _queue_an_icmp_error(n, s)
            deadline = time.monotonic() + 2
            while True:  # the ICMP error is queued asynchronously
                try:
                    return n.out(a.recvmsg(s, 100, 1024, socket.MSG_ERRQUEUE))
                except BlockingIOError:
                    assert time.monotonic() < deadline
                    time.sleep(0.005)

    out = same_as_stdlib(api, steps)
    data, ((level, kind, ee),), flags, addr = out[1]
    assert (data, level, kind, addr) == (b"lost", 0, udpeco.IP_RECVERR, "closed")
    assert struct.unpack_from("I", ee)[0] == 111 and flags & socket.MSG_ERRQUEUE


def test_errqueue_blocking_empty_is_blockingioerror_at_once(api: Api) -> None:
    def steps(a: Api) -> Any:
        with Net(a) as n:
            s, p = n.pair()
            p.send(b"data")  # readable: the error queue read must still not wait
            wait_readable(s)
            start = time.monotonic()
            try:
                return a.recvmsg(s, 10, 64, socket.MSG_ERRQUEUE)
            finally:
                assert time.monotonic() - start < 1.0

    same_as_stdlib(api, steps)


def test_errqueue_with_timeout_waits_for_the_error_and_never_spins(api: Api) -> None:
    def steps(a: Api) -> Any:
        with Net(a) as n:
            # Unconnected: the kernel matches an ICMP error only to a socket whose peer (if
            # any) is the failed datagram's destination.
            s, p = n.sock(), n.peer()
            p.sendto(b"data", s.getsockname())  # POLLIN all along; only POLLERR may end it
            wait_readable(s)
            s.settimeout(0.3)
            cpu = time.process_time()
            try:
                a.recvmsg(s, 10, 64, socket.MSG_ERRQUEUE)
            except socket.timeout as e:
                timed_out = str(e)
            spent = time.process_time() - cpu
            # The stdlib spins until the timeout (its known defect); udpeco must not.
            assert a is STDLIB or spent < 0.1, f"{spent:.2f} s of CPU in a 0.3 s wait"
            s.settimeout(3.0)
            s.setsockopt(socket.IPPROTO_IP, udpeco.IP_RECVERR, 1)
            dest = n.closed_port()
            timer = threading.Timer(0.1, s.sendto, args=(b"late", dest))
            timer.start()
            start = time.monotonic()
            try:
                got = a.recvmsg(s, 10, 1024, socket.MSG_ERRQUEUE)
            finally:
                timer.join()
            assert time.monotonic() - start < 2.0
            return timed_out, n.out(got)

    out = same_as_stdlib(api, steps)
    assert out[1][1][0] == b"late"


# --- modes and flags ---------------------------------------------------------------------


@pytest.mark.parametrize("call", ["recvmsg", "recvmsg_into"])
@pytest.mark.parametrize("setup", ["nonblocking", "timeout", "dontwait"])
def test_nothing_queued(api: Api, call: str, setup: str) -> None:
    def steps(a: Api) -> Any:
        with Net(a) as n:
            s, _ = n.pair()
            flags = 0
            if setup == "nonblocking":
                s.setblocking(False)
            elif setup == "timeout":
                s.settimeout(0.05)
            else:
                flags = socket.MSG_DONTWAIT
            if call == "recvmsg":
                return a.recvmsg(s, 10, 0, flags)
            return a.recvmsg_into(s, [bytearray(4)], 0, flags)

    same_as_stdlib(api, steps)


@pytest.mark.parametrize("flags", [-1, socket.MSG_OOB, 1 << 30])
def test_odd_flags(api: Api, flags: int) -> None:
    def steps(a: Api) -> Any:
        with Net(a) as n:
            s, p = n.pair()
            p.send(b"q")
            wait_readable(s)
            first = _try(lambda: a.recvmsg(s, 10, 0, flags))
            return n.out((first, _try(lambda: a.sendmsg(s, [b"z"], [], flags))))

    same_as_stdlib(api, steps)


def _try(fn: Any) -> Any:
    try:
        return fn()
    except Exception as e:
        return (type(e), getattr(e, "errno", None), str(e))


def test_recv_after_shutdown_rd(api: Api) -> None:
    with api.make(socket.AF_INET) as probe:
        if not os.get_blocking(probe.fileno()):
            # The blocking call returns b'' because the kernel's blocking receive does.
            pytest.skip("this socket class keeps its descriptor O_NONBLOCK in blocking mode")

    def steps(a: Api) -> Any:
        with Net(a) as n:
            s, p = n.pair()
            s.shutdown(socket.SHUT_RD)
            return n.out(a.recvmsg(s, 10))

    same_as_stdlib(api, steps)


def test_kernel_errors(api: Api) -> None:
    def steps(a: Api) -> Any:
        with Net(a) as n:
            s, p = n.sock(), n.peer()
            big = _try(lambda: a.sendmsg(s, [b"x" * 65508], [], 0, p.getsockname()))
            unknown = _try(lambda: a.sendmsg(s, [b"x"], [(socket.SOL_SOCKET, 9999, b"")]))
            bad_tos = [(socket.IPPROTO_IP, socket.IP_TOS, b"\x01\x02\x03")]
            tos = _try(lambda: a.sendmsg(s, [b"x"], bad_tos, 0, p.getsockname()))
            s.connect(n.closed_port())
            s.send(b"refused")
            time.sleep(0.05)
            return big, unknown, tos, _try(lambda: a.recvmsg(s, 10))

    same_as_stdlib(api, steps)


# --- arguments ---------------------------------------------------------------------------


BAD_CALLS = {
    "sendmsg str buffers": ("sendmsg", ("x",)),
    "sendmsg int buffers": ("sendmsg", (5,)),
    "sendmsg str item": ("sendmsg", (["x"],)),
    "sendmsg non-contiguous": ("sendmsg", ([memoryview(b"abcd")[::2]],)),
    "sendmsg anc not iterable": ("sendmsg", ([b"x"], 5)),
    "sendmsg anc None": ("sendmsg", ([b"x"], None)),
    "sendmsg anc pair": ("sendmsg", ([b"x"], [(1, 2)])),
    "sendmsg anc int": ("sendmsg", ([b"x"], [1])),
    "sendmsg anc bytes": ("sendmsg", ([b"x"], [b"abc"])),
    "sendmsg anc str data": ("sendmsg", ([b"x"], [(1, 2, "s")])),
    "sendmsg anc str level": ("sendmsg", ([b"x"], [("1", 2, b"")])),
    "sendmsg anc huge level": ("sendmsg", ([b"x"], [(2**40, 2, b"")])),
    "sendmsg flags str": ("sendmsg", ([b"x"], [], "0")),
    "sendmsg flags float": ("sendmsg", ([b"x"], [], 0.0)),
    "sendmsg address str": ("sendmsg", ([b"x"], [], 0, "x")),
    "sendmsg address port": ("sendmsg", ([b"x"], [], 0, (LO, 70000))),
    "sendmsg too many": ("sendmsg", ([b"x"], [], 0, None, 1)),
    "sendmsg address before data": ("sendmsg", (["x"], [], 0, "x")),
    "sendmsg data before anc": ("sendmsg", (["x"], [1])),
    "recvmsg negative": ("recvmsg", (-1,)),
    "recvmsg anc negative": ("recvmsg", (1, -1)),
    "recvmsg anc huge": ("recvmsg", (1, 2**40)),
    "recvmsg str": ("recvmsg", ("1",)),
    "recvmsg float": ("recvmsg", (1.0,)),
    "recvmsg flags overflow": ("recvmsg", (1, 0, 2**40)),
    "recvmsg flags underflow": ("recvmsg", (1, 0, -(2**40))),
    "recvmsg flags beyond long": ("recvmsg", (1, 0, 2**70)),
    "recvmsg bufsize beyond ssize_t": ("recvmsg", (2**70,)),
    "recvmsg bufsize None": ("recvmsg", (None,)),
    "recvmsg flags None": ("recvmsg", (1, 0, None)),
    "recvmsg huge": ("recvmsg", (2**62,)),
    "recvmsg_into int": ("recvmsg_into", (5,)),
    "recvmsg_into bytes": ("recvmsg_into", ([bytearray(3), b"x"],)),
    "recvmsg_into non-contiguous": ("recvmsg_into", ([memoryview(bytearray(4))[::2]],)),
    "recvmsg_into anc negative": ("recvmsg_into", ([bytearray(1)], -1)),
    "recvmsg_into str": ("recvmsg_into", ("ab",)),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
@pytest.mark.parametrize("closed", [False, True], ids=["open", "closed"])
def test_argument_errors(api: Api, case: str, closed: bool) -> None:
    name, args = BAD_CALLS[case]

    def steps(a: Api) -> Any:
        with Net(a) as n:
            s, _ = n.pair()
            s.setblocking(False)
            if closed:
                s.close()
            return getattr(a, name)(s, *args)

    out = same_as_stdlib(api, steps)
    assert out[0] == "raise"


@pytest.mark.parametrize("call", ["sendmsg", "recvmsg", "recvmsg_into"])
def test_closed_socket_is_ebadf(api: Api, call: str) -> None:
    args = {"sendmsg": ([b"x"],), "recvmsg": (10,), "recvmsg_into": ([bytearray(2)],)}[call]

    def steps(a: Api) -> Any:
        with Net(a) as n:
            s = n.sock()
            s.close()
            return getattr(a, call)(s, *args)

    assert same_as_stdlib(api, steps)[2] == 9


# --- randomized --------------------------------------------------------------------------


RECV_OPTIONS = [
    (socket.IPPROTO_IP, udpeco.IP_PKTINFO),
    (socket.IPPROTO_IP, udpeco.IP_RECVTOS),
    (socket.IPPROTO_IP, udpeco.IP_RECVTTL),
]
FLAG_BITS = [socket.MSG_PEEK, socket.MSG_TRUNC, socket.MSG_DONTWAIT, socket.MSG_ERRQUEUE]


@hypothesis.settings(max_examples=60, deadline=None, derandomize=True)
@hypothesis.given(
    payload=st.binary(max_size=80),
    parts=st.integers(0, 3),
    bufsize=st.integers(0, 100),
    ancbufsize=st.integers(0, 120),
    flags=st.lists(st.sampled_from(FLAG_BITS), unique=True),
    options=st.lists(st.sampled_from(RECV_OPTIONS), unique=True),
    into=st.booleans(),
)
def test_random_calls_match_the_stdlib(
    payload: bytes,
    parts: int,
    bufsize: int,
    ancbufsize: int,
    flags: list[int],
    options: list[tuple[int, int]],
    into: bool,
) -> None:
    flag = sum(flags)
    size = len(payload)
    cut = [payload[size * i // parts : size * (i + 1) // parts] for i in range(parts)]

    def steps(a: Api) -> Any:
        with Net(a) as n:
            s, p = n.pair()
            for level, opt in options:
                s.setsockopt(level, opt, 1)
            sent = _try(lambda: a.sendmsg(p if a is STDLIB else s, cut or [payload]))
            if a is not STDLIB:  # the datagram for s comes from the stdlib peer either way
                assert p.recv(100) == payload
                p.sendmsg(cut or [payload])
            wait_readable(s)
            s.setblocking(False)  # no call may wait: a wrong result must not hang the test
            if into:
                bufs = [bytearray(bufsize // 2), bytearray(bufsize - bufsize // 2)]
                first = _try(lambda: a.recvmsg_into(s, bufs, ancbufsize, flag))
                first = (first, [bytes(b) for b in bufs])
            else:
                first = _try(lambda: a.recvmsg(s, bufsize, ancbufsize, flag))
            return n.out((sent, first, _try(lambda: a.recvmsg(s, 100, 0))))

    for api in UDPECO_APIS.values():
        same_as_stdlib(api, steps)
