"""``udpeco.socket``: a real ``socket.socket`` whose datagram I/O runs in Rust.

The stdlib object owns everything but the I/O calls: the descriptor, its family, type and
protocol, the timeout state (and the descriptor's ``O_NONBLOCK`` flag, exactly as the stdlib
sets it), ``close``/``detach``/``dup``/``fileno=``, inheritable flags, ``makefile``, ``repr``,
the pickling refusal and the ``ResourceWarning`` of an unclosed socket. The methods ``recv``,
``recvfrom``, ``recv_into``, ``recvfrom_into``, ``send``, ``sendall`` and ``sendto`` (and, when
the extension has them, ``sendmsg``, ``recvmsg``, ``recvmsg_into``, ``recv_many`` and
``send_many``) are the extension's ``sock_*`` functions, installed as method descriptors of the
class: they run without the GIL and answer Ctrl+C within 200 ms. See docs/dropin.md.
"""

from __future__ import annotations

import socket as _stdlib
from typing import TYPE_CHECKING, Any, Callable

from udpeco import _udpeco

__all__ = ["socket"]


class socket(_stdlib.socket):  # noqa: N801 - the stdlib's name, for a drop-in
    """A ``socket.socket`` (UDP by default) whose I/O calls run in Rust.

    ``udpeco.socket()`` is ``AF_INET``/``SOCK_DGRAM``, where the stdlib's default type is
    ``SOCK_STREAM``; with ``fileno=`` the stdlib reads family and type from the descriptor.
    """

    __slots__ = ()

    def __init__(
        self,
        family: int = -1,
        type: int = -1,  # noqa: A002 - the stdlib's parameter name
        proto: int = -1,
        fileno: int | None = None,
    ) -> None:
        if fileno is None:
            if family == -1:
                family = _stdlib.AF_INET
            if type == -1:
                type = _stdlib.SOCK_DGRAM
        super().__init__(family, type, proto, fileno)

    if TYPE_CHECKING:

        def recv_many(self, max_count: int, bufsize: int, /) -> list[tuple[bytes, Any]]: ...

        def send_many(self, items: Any, /) -> int: ...


socket.__module__ = "udpeco"

# method name -> extension function (socket object first). The batch and ancillary-data ones
# come from the msg binding; before it exists the stdlib's inherited methods stay.
_METHODS = {
    "recv": "sock_recv",
    "recvfrom": "sock_recvfrom",
    "recv_into": "sock_recv_into",
    "recvfrom_into": "sock_recvfrom_into",
    "send": "sock_send",
    "sendall": "sock_sendall",
    "sendto": "sock_sendto",
    "sendmsg": "sock_sendmsg",
    "recvmsg": "sock_recvmsg",
    "recvmsg_into": "sock_recvmsg_into",
    "recv_many": "sock_recv_many",
    "send_many": "sock_send_many",
}


def _python_method(func: Callable[..., Any]) -> Callable[..., Any]:
    def method(self: socket, *args: Any, **kwargs: Any) -> Any:
        return func(self, *args, **kwargs)

    return method


for _name, _func_name in _METHODS.items():
    _func = getattr(_udpeco, _func_name, None)
    if _func is None:
        continue
    try:
        _udpeco._install_method(socket, _name, _func)
    except TypeError:  # not a fast-call built-in: an ordinary (slower) method
        _method = _python_method(_func)
        _method.__name__ = _method.__qualname__ = _name
        setattr(socket, _name, _method)
