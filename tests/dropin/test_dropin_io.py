"""Datagram I/O of the drop-in: bind, sendto/recvfrom, send/recv, recvfrom_into, connect."""

from __future__ import annotations

import socket

import pytest
from dropin_helpers import LOOPBACK, raises_exactly


def test_bind_ephemeral_and_getsockname(sock) -> None:
    host, port = sock.getsockname()
    assert host == LOOPBACK
    assert 1024 <= port <= 65535


def test_bind_all_interfaces_empty_string(bk, closing) -> None:
    s = closing(bk.udp())
    s.bind(("", 0))
    assert s.getsockname()[0] == "0.0.0.0"


def test_bind_twice_is_einval(sock) -> None:
    raises_exactly(lambda: sock.bind((LOOPBACK, 0)), OSError, 22, "[Errno 22] Invalid argument")


def test_sendto_recvfrom_both_ways(sock, peer) -> None:
    assert sock.sendto(b"hola", peer.getsockname()) == 4
    data, addr = peer.recvfrom(1024)
    assert (data, addr) == (b"hola", sock.getsockname())
    sock.connect(peer.getsockname())  # filter strays from other programs
    peer.sendto(b"adios", sock.getsockname())
    data, addr = sock.recvfrom(1024)
    assert type(data) is bytes and type(addr) is tuple
    assert (data, addr) == (b"adios", peer.getsockname())
    assert type(addr[0]) is str and type(addr[1]) is int


def test_sendto_with_flags_argument(sock, peer) -> None:
    assert sock.sendto(b"f", 0, peer.getsockname()) == 1
    assert peer.recv(10) == b"f"


def test_sendto_accepts_bytes_like(sock, peer) -> None:
    assert sock.sendto(bytearray(b"ab"), peer.getsockname()) == 2
    assert sock.sendto(memoryview(b"xcdx")[1:3], peer.getsockname()) == 2
    assert peer.recv(10) == b"ab"
    assert peer.recv(10) == b"cd"


def test_recvfrom_flags_and_recv(conn, peer) -> None:
    peer.send(b"one")
    assert conn.recvfrom(10, 0) == (b"one", peer.getsockname())
    peer.send(b"two")
    assert conn.recv(10) == b"two"
    peer.send(b"three")
    assert conn.recv(10, 0) == b"three"


def test_recv_peek_flag(conn, peer) -> None:
    peer.send(b"peek")
    assert conn.recv(10, socket.MSG_PEEK) == b"peek"
    assert conn.recv(10) == b"peek"


def test_zero_byte_datagram(conn, peer) -> None:
    assert conn.sendto(b"", peer.getsockname()) == 0
    assert peer.recvfrom(10) == (b"", conn.getsockname())
    peer.send(b"")
    assert conn.recvfrom(1024) == (b"", peer.getsockname())
    peer.send(b"")
    assert conn.recv(1024) == b""


def test_datagram_larger_than_buffer_is_truncated_rest_discarded(conn, peer) -> None:
    peer.send(b"hello world")
    peer.send(b"next")
    assert conn.recvfrom(5) == (b"hello", peer.getsockname())
    # The rest of the first datagram is gone: the next read gets the next datagram.
    assert conn.recvfrom(1024) == (b"next", peer.getsockname())


def test_msg_trunc_reports_the_real_length_without_crashing(conn, peer) -> None:
    # With MSG_TRUNC the kernel returns the datagram's full length (11), more than the
    # buffer (5). udpeco used to slice its buffer with that length and panic.
    for _ in range(3):
        peer.send(b"hello world")
    assert conn.recv(5, socket.MSG_TRUNC)[:5] == b"hello"
    data, addr = conn.recvfrom(5, socket.MSG_TRUNC)
    assert (data[:5], addr) == (b"hello", peer.getsockname())
    buf = bytearray(5)
    assert conn.recv_into(buf, 0, socket.MSG_TRUNC) == 11
    assert buf == b"hello"


def test_absurd_bufsize_is_memory_error(conn) -> None:
    # udpeco used to abort the whole process ("memory allocation ... failed").
    with pytest.raises(MemoryError):
        conn.recv(1 << 62)
    with pytest.raises(MemoryError):
        conn.recvfrom(1 << 62)


def test_recvfrom_zero_bufsize_consumes_a_datagram(conn, peer) -> None:
    peer.send(b"abc")
    peer.send(b"def")
    assert conn.recvfrom(0) == (b"", peer.getsockname())
    assert conn.recv(10) == b"def"


def test_max_datagram_65507(conn, peer) -> None:
    payload = bytes(range(256)) * 255 + b"x" * 227
    assert len(payload) == 65507
    assert conn.send(payload) == 65507
    assert peer.recv(70000) == payload
    peer.send(payload)
    assert conn.recv(65535) == payload


def test_recvfrom_into(conn, peer) -> None:
    buf = bytearray(4)
    peer.send(b"abcdef")
    assert conn.recvfrom_into(buf) == (4, peer.getsockname())
    assert buf == bytearray(b"abcd")
    buf = bytearray(10)
    peer.send(b"abcdef")
    assert conn.recvfrom_into(buf, 3) == (3, peer.getsockname())
    assert buf == bytearray(b"abc" + bytes(7))
    view = memoryview(bytearray(10))
    peer.send(b"xyz")
    assert conn.recvfrom_into(view[2:]) == (3, peer.getsockname())
    assert bytes(view) == b"\0\0xyz" + bytes(5)
    peer.send(b"")
    assert conn.recvfrom_into(bytearray(3)) == (0, peer.getsockname())


def test_recvfrom_into_argument_errors(conn) -> None:
    raises_exactly(
        lambda: conn.recvfrom_into(bytearray(3), 5),
        ValueError,
        message="nbytes is greater than the length of the buffer",
    )
    raises_exactly(
        lambda: conn.recvfrom_into(bytearray(3), -1),
        ValueError,
        message="negative buffersize in recvfrom_into",
    )
    raises_exactly(
        lambda: conn.recvfrom_into(b"abc"),
        TypeError,
        message="recvfrom_into() argument 1 must be read-write bytes-like object, not bytes",
    )


def test_negative_bufsize(conn) -> None:
    raises_exactly(lambda: conn.recvfrom(-1), ValueError, message="negative buffersize in recvfrom")
    raises_exactly(lambda: conn.recv(-1), ValueError, message="negative buffersize in recv")
    raises_exactly(
        lambda: conn.recvfrom("1"),
        TypeError,
        message="'str' object cannot be interpreted as an integer",
    )


def test_connect_send_recv_getpeername(bk, closing, peer) -> None:
    s = closing(bk.udp())
    raises_exactly(s.getpeername, OSError, 107, "[Errno 107] Transport endpoint is not connected")
    raises_exactly(lambda: s.send(b"x"), OSError, 89, "[Errno 89] Destination address required")
    assert s.connect(peer.getsockname()) is None
    assert s.getpeername() == peer.getsockname()
    assert s.getsockname()[0] == LOOPBACK and s.getsockname()[1] > 0  # implicit bind
    assert s.send(b"via send") == 8
    assert peer.recvfrom(100) == (b"via send", s.getsockname())
    peer.sendto(b"back", s.getsockname())
    assert s.recv(100) == b"back"


def test_sendto_unbound_binds_implicitly(bk, closing, peer) -> None:
    s = closing(bk.udp())
    s.sendto(b"x", peer.getsockname())
    host, port = s.getsockname()
    assert host == "0.0.0.0" and port > 0
    assert peer.recvfrom(10) == (b"x", (LOOPBACK, port))


def test_connected_socket_sees_icmp_refused(bk, closing) -> None:
    # A port nobody listens on: bind then close a stdlib socket to get one.
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind((LOOPBACK, 0))
    dead = probe.getsockname()
    probe.close()
    s = closing(bk.udp())
    s.settimeout(2.0)
    s.connect(dead)
    s.send(b"anyone?")
    raises_exactly(
        lambda: s.recv(10), ConnectionRefusedError, 111, "[Errno 111] Connection refused"
    )


def test_shutdown(bk, conn, peer) -> None:
    raises_exactly(lambda: conn.shutdown(5), OSError, 22, "[Errno 22] Invalid argument")
    raises_exactly(
        lambda: conn.shutdown("x"),
        TypeError,
        message="'str' object cannot be interpreted as an integer",
    )
    assert conn.shutdown(socket.SHUT_WR) is None
    raises_exactly(lambda: conn.send(b"x"), BrokenPipeError, 32, "[Errno 32] Broken pipe")
    assert conn.shutdown(socket.SHUT_RDWR) is None


def test_recv_into_sendall_connect_ex(bk, closing, conn, peer) -> None:
    buf = bytearray(8)
    peer.send(b"into")
    assert conn.recv_into(buf) == 4
    assert buf[:4] == b"into"
    peer.send(b"abcdef")
    assert conn.recv_into(buf, 2) == 2
    assert buf[:4] == b"abto"
    assert conn.sendall(b"all") is None
    assert peer.recv(10) == b"all"
    s = closing(bk.udp())
    assert s.connect_ex(peer.getsockname()) == 0
    assert s.getpeername() == peer.getsockname()


def test_timeout_attribute_and_int_options(sock) -> None:
    assert sock.timeout is None
    sock.settimeout(2)
    assert sock.timeout == 2.0
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_DGRAM
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0


def test_close_from_another_thread_ends_in_ebadf(bk, closing) -> None:
    """A receive blocked while another thread closes the socket fails with EBADF in both
    (the stdlib when its timeout expires, udpeco at once: see docs/dropin.md)."""
    import threading

    s = bk.udp()
    s.bind((LOOPBACK, 0))
    s.connect(s.getsockname())  # no strays
    s.settimeout(0.5)
    closer = threading.Timer(0.1, s.close)
    closer.start()
    try:
        raises_exactly(lambda: s.recvfrom(10), OSError, 9, "[Errno 9] Bad file descriptor")
    finally:
        closer.join()
        s.close()
