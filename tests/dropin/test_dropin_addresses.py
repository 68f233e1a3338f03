"""Address resolution as the stdlib does it: '', 'localhost', names, '<broadcast>', IPv6."""

from __future__ import annotations

import socket

import pytest
from dropin_helpers import LOOPBACK, raises_exactly, same_as_stdlib


def test_empty_string_means_any(sock, peer) -> None:
    # '' is INADDR_ANY: as a destination Linux delivers it locally.
    port = peer.getsockname()[1]
    assert sock.sendto(b"any", ("", port)) == 3
    assert peer.recvfrom(10) == (b"any", sock.getsockname())


@pytest.mark.parametrize("host", ["localhost", "127.1", "2130706433", socket.gethostname()])
def test_names_and_numeric_forms(bk, host: str) -> None:
    def steps(b):
        with b.udp() as s, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as dst:
            dst.bind((LOOPBACK, 0))
            dst.settimeout(2)
            s.sendto(b"n", (host, dst.getsockname()[1]))
            data, addr = dst.recvfrom(10)
            return data, addr == (LOOPBACK, s.getsockname()[1])

    kind, value = same_as_stdlib(bk, steps)
    if host in ("localhost", "127.1", "2130706433"):
        assert (kind, value) == ("ok", (b"n", True))


def test_connect_and_bind_by_name(bk, closing, peer) -> None:
    s = closing(bk.udp())
    s.bind(("localhost", 0))
    assert s.getsockname()[0] == LOOPBACK
    s.connect(("localhost", peer.getsockname()[1]))
    assert s.getpeername() == peer.getsockname()


def test_broadcast_needs_so_broadcast_and_reaches_loopback(bk, closing) -> None:
    s = closing(bk.udp())
    # Keep the broadcast on the loopback interface (tests never send onto a real network).
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
    except PermissionError:
        pytest.skip("SO_BINDTODEVICE needs CAP_NET_RAW: cannot confine a broadcast to lo")
    s.bind((LOOPBACK, 0))
    receiver = closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    receiver.bind(("", 0))  # not connect()-ed: that would bind it to 127.0.0.1, no broadcasts
    receiver.settimeout(2)
    port = receiver.getsockname()[1]
    raises_exactly(
        lambda: s.sendto(b"x", ("<broadcast>", port)),
        PermissionError,
        13,
        "[Errno 13] Permission denied",
    )
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    assert s.sendto(b"bc", ("<broadcast>", port)) == 2
    assert s.sendto(b"bd", ("255.255.255.255", port)) == 2
    got = []
    for _ in range(50):  # skip strays from other programs on the machine (bounded)
        data, addr = receiver.recvfrom(10)
        if addr == s.getsockname():
            got.append(data)
            if len(got) == 2:
                break
    assert got == [b"bc", b"bd"]


def test_space_is_not_a_name(sock) -> None:
    raises_exactly(
        lambda: sock.sendto(b"x", (" ", 9)),
        socket.gaierror,
        -2,
        "[Errno -2] Name or service not known",
    )


# --- IPv6 -------------------------------------------------------------------------------


@pytest.fixture
def sock6(bk, closing):
    s = closing(bk.udp(socket.AF_INET6))
    s.bind(("::1", 0))
    return s


@pytest.fixture
def peer6(closing):
    s = closing(socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
    s.bind(("::1", 0, 0, 0))
    s.settimeout(2)
    return s


def test_ipv6_new_socket(bk, closing) -> None:
    s = closing(bk.udp(socket.AF_INET6))
    assert s.family == socket.AF_INET6
    assert s.getsockname() == ("::", 0, 0, 0)


def test_ipv6_four_tuples(sock6, peer6) -> None:
    host, port, flowinfo, scope = sock6.getsockname()
    assert (host, flowinfo, scope) == ("::1", 0, 0) and port > 0
    assert sock6.sendto(b"v6", peer6.getsockname()[:2]) == 2  # a pair is enough
    assert peer6.recvfrom(10) == (b"v6", sock6.getsockname())
    sock6.connect(peer6.getsockname())
    assert sock6.getpeername() == peer6.getsockname()
    peer6.sendto(b"back", sock6.getsockname())
    assert sock6.recvfrom(10) == (b"back", peer6.getsockname())
    assert sock6.send(b"s") == 1
    assert peer6.recv(10) == b"s"


def test_ipv6_bind_four_tuple_and_any(bk, closing) -> None:
    s = closing(bk.udp(socket.AF_INET6))
    s.bind(("::1", 0, 0, 0))
    assert s.getsockname()[0] == "::1"
    t = closing(bk.udp(socket.AF_INET6))
    t.bind(("", 0))
    assert t.getsockname()[0] == "::"


_V6_SHAPE = "AF_INET6 address must be a tuple (host, port[, flowinfo[, scopeid]])"
IPV6_BAD = [
    (("::1", 1, 0, 0, 0), TypeError, None, _V6_SHAPE),
    (("::1",), TypeError, None, _V6_SHAPE),
    ("::1", TypeError, None, "sendto(): AF_INET6 address must be tuple, not str"),
    (("::1", 9, 2**20, 0), OverflowError, None, "sendto(): flowinfo must be 0-1048575."),
    (("::1", 9, -1, 0), OverflowError, None, "sendto(): flowinfo must be 0-1048575."),
    (("::1", 70000), OverflowError, None, "sendto(): port must be 0-65535."),
    (
        ("127.0.0.1", 9),
        socket.gaierror,
        -9,
        "[Errno -9] Address family for hostname not supported",
    ),
    (("<broadcast>", 9), OSError, None, "address family mismatched"),
]


@pytest.mark.parametrize(("addr", "cls", "errno", "message"), IPV6_BAD, ids=repr)
def test_ipv6_bad_addresses(sock6, addr, cls, errno, message: str) -> None:
    raises_exactly(lambda: sock6.sendto(b"x", addr), cls, errno, message)


def test_ipv6_dual_stack_sees_mapped_ipv4(bk, closing, peer) -> None:
    s = closing(bk.udp(socket.AF_INET6))
    s.bind(("", 0))
    s.settimeout(2)
    s.connect(("::ffff:127.0.0.1", peer.getsockname()[1]))
    peer.sendto(b"v4", (LOOPBACK, s.getsockname()[1]))
    data, addr = s.recvfrom(10)
    assert (data, addr) == (b"v4", ("::ffff:127.0.0.1", peer.getsockname()[1], 0, 0))
    assert s.getpeername() == addr


def test_ipv6_localhost_resolves_like_stdlib(bk) -> None:
    def steps(b):
        with b.udp(socket.AF_INET6) as s:
            s.bind(("localhost", 0))
            return s.getsockname()[0]

    same_as_stdlib(bk, steps)
