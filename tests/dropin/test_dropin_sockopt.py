"""setsockopt/getsockopt in their int and bytes forms."""

from __future__ import annotations

import socket
import struct

import pytest
from dropin_helpers import STDLIB, raises_exactly, same_as_stdlib

BOOL_OPTS = ["SO_REUSEADDR", "SO_REUSEPORT", "SO_BROADCAST"]
SIZE_OPTS = ["SO_RCVBUF", "SO_SNDBUF"]


@pytest.mark.parametrize("name", BOOL_OPTS)
def test_boolean_option_int_and_bytes_forms(sock, name: str) -> None:
    opt = getattr(socket, name)
    assert sock.getsockopt(socket.SOL_SOCKET, opt) == 0
    assert sock.setsockopt(socket.SOL_SOCKET, opt, 1) is None
    assert sock.getsockopt(socket.SOL_SOCKET, opt) == 1
    assert sock.getsockopt(socket.SOL_SOCKET, opt, 4) == struct.pack("i", 1)
    sock.setsockopt(socket.SOL_SOCKET, opt, struct.pack("i", 0))
    assert sock.getsockopt(socket.SOL_SOCKET, opt) == 0
    sock.setsockopt(socket.SOL_SOCKET, opt, True)
    assert sock.getsockopt(socket.SOL_SOCKET, opt) == 1
    sock.setsockopt(socket.SOL_SOCKET, opt, bytearray(struct.pack("i", 0)))
    assert sock.getsockopt(socket.SOL_SOCKET, opt, 4) == bytes(4)


@pytest.mark.parametrize("name", SIZE_OPTS)
def test_buffer_sizes_like_stdlib(bk, name: str) -> None:
    opt = getattr(socket, name)

    def steps(b):
        with b.udp() as s:
            default = s.getsockopt(socket.SOL_SOCKET, opt)
            s.setsockopt(socket.SOL_SOCKET, opt, 65536)
            after = s.getsockopt(socket.SOL_SOCKET, opt)
            raw = s.getsockopt(socket.SOL_SOCKET, opt, 4)
            big = s.getsockopt(socket.SOL_SOCKET, opt, 1024)
            assert s.getsockopt(socket.SOL_SOCKET, opt, 0) == after  # 0: the int form
            return default, after, raw, big

    kind, (default, after, raw, big) = same_as_stdlib(bk, steps)
    assert kind == "ok"
    assert default > 0 and after == 131072  # Linux doubles the requested size
    assert raw == struct.pack("i", after) and big == raw


def test_sockopt_errors(sock) -> None:
    raises_exactly(
        lambda: sock.getsockopt(socket.SOL_SOCKET, 9999),
        OSError,
        92,
        "[Errno 92] Protocol not available",
    )
    raises_exactly(
        lambda: sock.setsockopt(socket.SOL_SOCKET, 9999, 1),
        OSError,
        92,
        "[Errno 92] Protocol not available",
    )
    raises_exactly(
        lambda: sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, b"\x01\x00"),
        OSError,
        22,
        "[Errno 22] Invalid argument",
    )
    for buflen in (-1, 1025, 2000):
        raises_exactly(
            lambda n=buflen: sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, n),
            OSError,
            None,
            "getsockopt buflen out of range",
        )
    raises_exactly(
        lambda: sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, "1"),
        TypeError,
        message="a bytes-like object is required, not 'str'",
    )
    raises_exactly(
        lambda: sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, None),
        TypeError,
        message="a bytes-like object is required, not 'NoneType'",
    )


def test_reuseaddr_lets_two_sockets_share_a_port(bk, closing) -> None:
    first = closing(STDLIB.udp())
    first.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    first.bind(("127.0.0.1", 0))
    second = closing(bk.udp())
    second.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    second.bind(first.getsockname())
    assert second.getsockname() == first.getsockname()


def test_reuseport_lets_two_sockets_share_a_port(bk, closing) -> None:
    first = closing(bk.udp())
    first.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    first.bind(("127.0.0.1", 0))
    second = closing(bk.udp())
    second.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    second.bind(first.getsockname())
    assert second.getsockname() == first.getsockname()
