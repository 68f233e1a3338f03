"""udpeco: a fast, correct UDP toolkit with a Rust core.

``udpeco.socket`` and ``udpeco.select`` are drop-in replacements for the stdlib's UDP socket and
``select.select``: a lab script can say ``import udpeco as socket`` and keep its structure, while
every socket call runs in Rust with the GIL released. Exceptions are the stdlib's own classes
(``udpeco.error is socket.error``), with the same errno, so ``except socket.error`` keeps
working. The engines (echo server, multi-port loop, timed client, scanner, load generator) run
whole loops in Rust.
"""

from __future__ import annotations

import socket as _stdlib_socket

from udpeco._udpeco import (
    IP_MULTICAST_LOOP,
    IP_MULTICAST_TTL,
    IP_TOS,
    IP_TTL,
    IPPROTO_IP,
    IPPROTO_IPV6,
    IPPROTO_UDP,
    IPV6_V6ONLY,
    MSG_DONTWAIT,
    MSG_PEEK,
    MSG_TRUNC,
    SHUT_RD,
    SHUT_RDWR,
    SHUT_WR,
    SO_BROADCAST,
    SO_ERROR,
    SO_RCVBUF,
    SO_RCVTIMEO,
    SO_REUSEADDR,
    SO_REUSEPORT,
    SO_SNDBUF,
    SO_SNDTIMEO,
    SO_TYPE,
    SOL_SOCKET,
    Client,
    EchoServer,
    ScanResult,
    bench,
    escape,
    scan,
    select,
    socket,
)
from udpeco.stats import EchoStats

#: The stdlib's exception classes themselves, so ``except socket.error`` catches udpeco's.
error = _stdlib_socket.error
timeout = _stdlib_socket.timeout
gaierror = _stdlib_socket.gaierror
herror = _stdlib_socket.herror

# The constants are the stdlib's own enum members (same values as udpeco._udpeco's ints), so
# that ``udpeco.AF_INET`` prints and compares exactly like ``socket.AF_INET``.
AF_INET = _stdlib_socket.AF_INET
AF_INET6 = _stdlib_socket.AF_INET6
SOCK_DGRAM = _stdlib_socket.SOCK_DGRAM
SOCK_NONBLOCK = _stdlib_socket.SOCK_NONBLOCK
SOCK_CLOEXEC = _stdlib_socket.SOCK_CLOEXEC
# More constants a UDP script may use, also the stdlib's own.
AF_UNSPEC = _stdlib_socket.AF_UNSPEC
INADDR_ANY = _stdlib_socket.INADDR_ANY
INADDR_BROADCAST = _stdlib_socket.INADDR_BROADCAST
INADDR_LOOPBACK = _stdlib_socket.INADDR_LOOPBACK

#: Same as ``socket.getdefaulttimeout``/``setdefaulttimeout``: udpeco sockets honour it.
getdefaulttimeout = _stdlib_socket.getdefaulttimeout
setdefaulttimeout = _stdlib_socket.setdefaulttimeout
gethostname = _stdlib_socket.gethostname
gethostbyname = _stdlib_socket.gethostbyname
getaddrinfo = _stdlib_socket.getaddrinfo

__version__ = "0.1.0"

__all__ = [
    "AF_INET",
    "AF_INET6",
    "AF_UNSPEC",
    "Client",
    "EchoServer",
    "EchoStats",
    "INADDR_ANY",
    "INADDR_BROADCAST",
    "INADDR_LOOPBACK",
    "IPPROTO_IP",
    "IPPROTO_IPV6",
    "IPPROTO_UDP",
    "IPV6_V6ONLY",
    "IP_MULTICAST_LOOP",
    "IP_MULTICAST_TTL",
    "IP_TOS",
    "IP_TTL",
    "MSG_DONTWAIT",
    "MSG_PEEK",
    "MSG_TRUNC",
    "SHUT_RD",
    "SHUT_RDWR",
    "SHUT_WR",
    "SOCK_CLOEXEC",
    "SOCK_DGRAM",
    "SOCK_NONBLOCK",
    "SOL_SOCKET",
    "SO_BROADCAST",
    "SO_ERROR",
    "SO_RCVBUF",
    "SO_RCVTIMEO",
    "SO_REUSEADDR",
    "SO_REUSEPORT",
    "SO_SNDBUF",
    "SO_SNDTIMEO",
    "SO_TYPE",
    "ScanResult",
    "bench",
    "error",
    "escape",
    "gaierror",
    "getaddrinfo",
    "getdefaulttimeout",
    "gethostbyname",
    "gethostname",
    "herror",
    "scan",
    "select",
    "setdefaulttimeout",
    "socket",
    "timeout",
]
