"""Helpers of the sendmsg/recvmsg and batch I/O tests (a module name no other directory uses).

Three implementations of the message calls are compared: the stdlib's methods on stdlib
sockets, udpeco's functions (``udpeco._udpeco.sock_recvmsg(sock, ...)``) on stdlib sockets, and
udpeco's own socket class (its methods once it has them, else the same functions on it). Every
test runs its steps on one of them and on the stdlib in the same run and compares the
outcomes, with ephemeral addresses replaced by labels.
"""

from __future__ import annotations

import socket
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from udpeco import _udpeco


@dataclass(frozen=True)
class Api:
    """One implementation of sendmsg/recvmsg/recvmsg_into over one kind of socket."""

    name: str
    make: Callable[[int], Any]
    methods: bool

    def _call(self, sock: Any, name: str, *args: Any) -> Any:
        if self.methods and hasattr(sock, name):
            return getattr(sock, name)(*args)
        return getattr(_udpeco, "sock_" + name)(sock, *args)

    def sendmsg(self, sock: Any, *args: Any) -> Any:
        return self._call(sock, "sendmsg", *args)

    def recvmsg(self, sock: Any, *args: Any) -> Any:
        return self._call(sock, "recvmsg", *args)

    def recvmsg_into(self, sock: Any, *args: Any) -> Any:
        return self._call(sock, "recvmsg_into", *args)

    def recv_many(self, sock: Any, *args: Any) -> Any:
        return self._call(sock, "recv_many", *args)

    def send_many(self, sock: Any, *args: Any) -> Any:
        return self._call(sock, "send_many", *args)


def _stdlib_socket(family: int) -> socket.socket:
    return socket.socket(family, socket.SOCK_DGRAM)


def _udpeco_socket(family: int) -> Any:
    import udpeco

    return udpeco.socket(family, udpeco.SOCK_DGRAM)


STDLIB = Api("stdlib", _stdlib_socket, True)
FUNCTIONS = Api("udpeco-functions", _stdlib_socket, False)
CLASS = Api("udpeco-class", _udpeco_socket, True)
UDPECO_APIS = {a.name: a for a in (FUNCTIONS, CLASS)}


def outcome(fn: Callable[[], Any]) -> tuple:
    """``("ok", value, warnings)`` or ``("raise", class, errno, message, warnings)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: tuple = ("ok", fn())
        except Exception as e:
            result = ("raise", type(e), getattr(e, "errno", None), str(e))
    return (*result, [(w.category, str(w.message)) for w in caught])


def labelled(value: Any, labels: dict) -> Any:
    """``value`` with every address found in ``labels`` replaced by its label."""
    try:
        if isinstance(value, tuple) and value in labels:
            return labels[value]
    except TypeError:  # a tuple holding a list is not hashable, so not an address
        pass
    if isinstance(value, (list, tuple)):
        return type(value)(labelled(v, labels) for v in value)
    return value


def same_as_stdlib(api: Api, steps: Callable[[Api], Any]) -> tuple:
    """Runs ``steps`` on ``api`` and on the stdlib; asserts equal outcomes; returns it."""
    got = outcome(lambda: steps(api))
    ref = outcome(lambda: steps(STDLIB))
    assert got == ref, f"{api.name}: {got!r} != stdlib: {ref!r}"
    return got
