"""udpeco.socket is a real socket.socket: what the stdlib object provides works as in the stdlib."""

from __future__ import annotations

import gc
import os
import pickle
import select
import socket
import warnings

import pytest
import udpeco
from dropin_helpers import LOOPBACK


def _pair(closing):
    a = closing(udpeco.socket(socket.AF_INET, socket.SOCK_DGRAM))
    b = closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    a.bind((LOOPBACK, 0))
    b.bind((LOOPBACK, 0))
    a.connect(b.getsockname())
    b.connect(a.getsockname())
    a.settimeout(5.0)
    return a, b


def test_isinstance_and_methods_are_fast_descriptors(closing) -> None:
    s = closing(udpeco.socket())
    assert isinstance(s, socket.socket)
    assert type(s).__module__ == "udpeco" and type(s).__name__ == "socket"
    for name in ("recv", "recvfrom", "recv_into", "recvfrom_into", "send", "sendto", "sendall"):
        assert type(vars(udpeco.socket)[name]).__name__ == "method_descriptor", name
    assert udpeco._udpeco._FAST_SOCKET_LAYOUT


def test_fileno_argument_dup_detach_fromfd(closing) -> None:
    a, b = _pair(closing)
    c = closing(a.dup())
    assert isinstance(c, udpeco.socket) and c.fileno() != a.fileno()
    b.send(b"via dup")
    c.settimeout(5.0)
    assert c.recv(100) == b"via dup"
    fd = c.detach()
    assert c.fileno() == -1
    d = closing(udpeco.socket(fileno=fd))
    assert (d.family, d.type) == (socket.AF_INET, socket.SOCK_DGRAM)
    b.send(b"via fileno=")
    d.settimeout(5.0)
    assert d.recvfrom(100) == (b"via fileno=", b.getsockname())
    # fromfd on a blocking udpeco socket: the copy is blocking too, and works.
    a.settimeout(None)
    e = closing(socket.fromfd(a.fileno(), socket.AF_INET, socket.SOCK_DGRAM))
    b.send(b"via fromfd")
    assert select.select([e], [], [], 5.0)[0]
    assert e.recv(100) == b"via fromfd"


def test_inheritable_makefile_repr_pickle(closing) -> None:
    a, b = _pair(closing)
    assert a.get_inheritable() is False
    a.set_inheritable(True)
    assert a.get_inheritable() is True and os.get_inheritable(a.fileno())
    assert repr(a).startswith(f"<udpeco.socket fd={a.fileno()}, family=")
    with pytest.raises(TypeError, match="cannot pickle"):
        pickle.dumps(a)
    f = a.makefile("rb", buffering=0)
    b.send(b"file")
    assert f.read(100) == b"file"
    f.close()


def test_unclosed_socket_warns() -> None:
    s = udpeco.socket()
    text = repr(s)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del s
        gc.collect()
    assert any(
        issubclass(w.category, ResourceWarning) and text in str(w.message) for w in caught
    ), caught


def test_a_subclass_of_udpeco_socket_keeps_the_rust_calls(closing) -> None:
    class Mine(udpeco.socket):
        def recv(self, n, flags=0):  # an override still wins
            return b"mine:" + super().recv(n, flags)

    a = closing(Mine())
    b = closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    a.bind((LOOPBACK, 0))
    b.connect(a.getsockname())
    a.connect(b.getsockname())
    a.settimeout(5.0)
    b.send(b"x")
    assert a.recv(10) == b"mine:x"


def test_methods_refuse_another_object() -> None:
    with pytest.raises(TypeError):
        udpeco.socket.recv(object(), 10)
    with pytest.raises(TypeError):
        udpeco._udpeco.sock_recv(object(), 10)
