"""Module surface of the drop-in: exception classes, constants, socket life cycle, repr."""

from __future__ import annotations

import re
import select
import socket
import threading

import pytest
from dropin_helpers import LOOPBACK, STDLIB, raises_exactly

CONSTANTS = [
    "AF_INET",
    "AF_INET6",
    "AF_UNSPEC",
    "SOCK_DGRAM",
    "SOL_SOCKET",
    "SO_REUSEADDR",
    "SO_REUSEPORT",
    "SO_RCVBUF",
    "SO_SNDBUF",
    "SO_BROADCAST",
    "SHUT_RD",
    "SHUT_WR",
    "SHUT_RDWR",
    "IPPROTO_UDP",
    "INADDR_ANY",
]


def test_exception_classes_are_the_stdlibs() -> None:
    import udpeco

    assert udpeco.error is socket.error
    assert udpeco.error is OSError
    assert udpeco.timeout is socket.timeout
    assert udpeco.gaierror is socket.gaierror


@pytest.mark.parametrize("name", CONSTANTS)
def test_constants_equal(bk, name: str) -> None:
    assert getattr(bk.mod, name) == getattr(socket, name)


def test_new_socket_attributes(bk, closing) -> None:
    s = closing(bk.mod.socket(bk.mod.AF_INET, bk.mod.SOCK_DGRAM))
    assert (s.family, s.type, s.proto) == (socket.AF_INET, socket.SOCK_DGRAM, 0)
    assert isinstance(s.fileno(), int) and s.fileno() >= 0
    assert s.gettimeout() is None
    assert s.getblocking() is True
    assert s.getsockname() == ("0.0.0.0", 0)


def test_keyword_arguments_and_udp_proto(bk, closing) -> None:
    s = closing(bk.mod.socket(family=socket.AF_INET, type=socket.SOCK_DGRAM, proto=0))
    assert s.proto == 0
    s2 = closing(bk.mod.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP))
    assert s2.proto == socket.IPPROTO_UDP


def test_bad_family_and_protocol(bk) -> None:
    raises_exactly(
        lambda: bk.mod.socket(12345, socket.SOCK_DGRAM),
        OSError,
        97,
        "[Errno 97] Address family not supported by protocol",
    )
    raises_exactly(
        lambda: bk.mod.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_TCP),
        OSError,
        93,
        "[Errno 93] Protocol not supported",
    )
    raises_exactly(
        lambda: bk.mod.socket("x", socket.SOCK_DGRAM),
        TypeError,
        message="'str' object cannot be interpreted as an integer",
    )


def test_fileno_is_a_real_descriptor(bk, closing) -> None:
    s = closing(bk.udp())
    s.bind((LOOPBACK, 0))
    # The descriptor is the kernel's socket: the stdlib can wrap it and see the same address.
    view = socket.socket(fileno=s.fileno())
    try:
        assert view.getsockname() == s.getsockname()
    finally:
        view.detach()


def test_close_twice_and_fileno_after_close(bk) -> None:
    s = bk.udp()
    s.close()
    assert s.fileno() == -1
    s.close()  # closing again is a no-op
    assert s.fileno() == -1
    assert s.gettimeout() is None


CLOSED_CALLS = {
    "sendto": lambda s: s.sendto(b"x", (LOOPBACK, 9)),
    "recvfrom": lambda s: s.recvfrom(1),
    "recv": lambda s: s.recv(1),
    "send": lambda s: s.send(b"x"),
    "recvfrom_into": lambda s: s.recvfrom_into(bytearray(1)),
    "bind": lambda s: s.bind((LOOPBACK, 0)),
    "connect": lambda s: s.connect((LOOPBACK, 9)),
    "getsockname": lambda s: s.getsockname(),
    "getpeername": lambda s: s.getpeername(),
    "settimeout": lambda s: s.settimeout(1),
    "setblocking": lambda s: s.setblocking(True),
    "getsockopt": lambda s: s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR),
    "setsockopt": lambda s: s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1),
    "shutdown": lambda s: s.shutdown(socket.SHUT_RDWR),
}


@pytest.mark.parametrize("call", sorted(CLOSED_CALLS))
def test_ebadf_after_close(bk, call: str) -> None:
    s = bk.udp()
    s.close()
    raises_exactly(lambda: CLOSED_CALLS[call](s), OSError, 9, "[Errno 9] Bad file descriptor")


def test_context_manager(bk) -> None:
    with bk.udp() as s:
        assert s.fileno() >= 0
        entered = s
    assert entered.fileno() == -1
    # __enter__ returns the socket itself; leaving on an exception closes and re-raises.
    with pytest.raises(ZeroDivisionError):
        with bk.udp() as s2:
            assert s2.__enter__() is s2
            1 / 0  # noqa: B018
    assert s2.fileno() == -1


def _repr_shape(s) -> str:
    """The repr with the class name, descriptor number and ports abstracted away."""
    text = re.sub(r"^<[\w.]+ ", "<CLS ", repr(s))
    text = re.sub(r"fd=\d+", "fd=N", text)
    return re.sub(r", \d+\)", ", PORT)", text)


def test_repr_shape(bk, closing) -> None:
    ours = closing(bk.udp())
    ref = closing(STDLIB.udp())
    assert repr(ours).startswith("<") and repr(ours).endswith(">")
    assert f"fd={ours.fileno()}" in repr(ours)
    assert _repr_shape(ours) == _repr_shape(ref)
    for s in (ours, ref):
        s.bind((LOOPBACK, 0))
    assert _repr_shape(ours) == _repr_shape(ref)
    for s in (ours, ref):
        s.connect((LOOPBACK, 9))
    assert _repr_shape(ours) == _repr_shape(ref)
    assert "raddr=('127.0.0.1', 9)" in repr(ours)
    ours.close()
    ref.close()
    assert _repr_shape(ours) == _repr_shape(ref)
    assert "[closed] fd=-1" in repr(ours)


def test_udpeco_defaults_to_udp_and_other_types_are_the_stdlibs(closing) -> None:
    """Documented difference: the default type is SOCK_DGRAM. Another type is what the stdlib
    makes (a real socket.socket), with udpeco's recv/send calls: a TCP exchange works."""
    import udpeco

    s = closing(udpeco.socket())
    assert (s.family, s.type, s.proto) == (socket.AF_INET, socket.SOCK_DGRAM, 0)
    server = closing(udpeco.socket(socket.AF_INET, socket.SOCK_STREAM))
    assert server.type == socket.SOCK_STREAM and isinstance(server, udpeco.socket)
    server.bind((LOOPBACK, 0))
    server.listen()
    client = closing(udpeco.socket(socket.AF_INET, socket.SOCK_STREAM))
    client.settimeout(5)
    client.connect(server.getsockname())
    conn, _ = server.accept()
    closing(conn)
    payload = bytes(range(256)) * 4096  # 1 MiB: several partial sends

    def send() -> None:
        client.sendall(payload)
        client.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=send)
    sender.start()
    got = bytearray()
    while chunk := conn.recv(65536):
        got += chunk
    sender.join()
    assert got == payload


def test_repr_names_udpeco(closing) -> None:
    import udpeco

    s = closing(udpeco.socket(socket.AF_INET, socket.SOCK_DGRAM))
    assert "udpeco" in repr(s)


def test_select_names(bk) -> None:
    assert callable(bk.select)
    assert bk.select([], [], [], 0) == ([], [], [])
    assert select.select is STDLIB.select
