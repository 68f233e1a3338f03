"""Helpers shared by the scanner tests: echo servers, silent sockets, free port ranges."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from echo_helpers import EchoThread

#: Ranges where test ports are picked: below the ephemeral range and away from the ports the
#: práctica and the other engines' tests use (20000-20100, 30000-39999, 44444, 8888, 9999).
RANGE_FIRST, RANGE_LAST = 21000, 29000


def bind(family: int, host: str, port: int) -> socket.socket | None:
    """A UDP socket bound to (host, port), or None when the port is taken."""
    s = socket.socket(family, socket.SOCK_DGRAM)
    try:
        s.bind((host, port))
    except OSError:
        s.close()
        return None
    return s


@contextmanager
def servers(
    width: int, echoes: int, silent: int = 0, host: str = "127.0.0.1"
) -> Iterator[tuple[range, list[int], list[socket.socket]]]:
    """A random range of `width` ports with `echoes` echo servers and `silent` bound sockets
    that never answer, at random offsets. Yields (range, echo ports, silent sockets)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        first = random.randint(RANGE_FIRST, RANGE_LAST - width)
        offsets = random.sample(range(width), echoes + silent)
        socks = [bind(family, host, first + o) for o in offsets]
        if all(socks):
            break
        for s in socks:
            if s:
                s.close()
    else:
        raise RuntimeError("no free port range found")
    bound = [s for s in socks if s is not None]
    echo = [EchoThread(s) for s in bound[:echoes]]
    try:
        yield range(first, first + width), sorted(e.port for e in echo), bound[echoes:]
    finally:
        for e in echo:
            e.close()
        for s in bound[echoes:]:
            s.close()


def drain(sock: socket.socket) -> int:
    """How many datagrams are waiting on `sock` (they are read and dropped)."""
    sock.setblocking(False)
    n = 0
    while True:
        try:
            sock.recv(65536)
        except BlockingIOError:
            return n
        n += 1
