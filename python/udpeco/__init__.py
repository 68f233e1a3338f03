"""udpeco: a fast, correct UDP toolkit with a Rust core.

``udpeco.socket`` (a ``socket.socket`` subclass) and ``udpeco.select`` are drop-in replacements
for the stdlib's UDP socket and ``select.select``: a lab script can say ``import udpeco as socket``
and keep its structure, while every datagram I/O call runs in Rust with the GIL released.
Exceptions are the stdlib's own classes (``udpeco.error is socket.error``), with the same errno,
so ``except socket.error`` keeps working. The engines (echo server, multi-port loop, timed
client, scanner, load generator, impairment proxy) run whole loops in Rust.
"""

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
    Capture,
    Client,
    EchoServer,
    Proxy,
    ScanResult,
    __version__,
    bench,
    capture,
    escape,
    scan,
    select,
)

#: ``typing.TYPE_CHECKING`` without importing typing (10-20 ms): type checkers read this name
#: as true.
TYPE_CHECKING = False

# The rest is imported on first use (PEP 562): the drop-in socket and the names taken from the
# stdlib's socket module (udpeco._stdlib) cost about 30 ms, which a program that only runs an
# engine, and every ``udpeco`` command, would otherwise pay at start-up. Type checkers see them
# as plain imports.
if TYPE_CHECKING:
    from udpeco._datagram import CapturedDatagram
    from udpeco._socket import socket
    from udpeco._stats import (
        BenchCounts,
        BenchInterval,
        BenchLatency,
        BenchProgress,
        BenchReport,
        EchoStats,
        ProxyDirectionStats,
        ProxyStats,
    )
    from udpeco._stdlib import (
        AF_INET,
        AF_INET6,
        AF_UNSPEC,
        CMSG_LEN,
        CMSG_SPACE,
        INADDR_ANY,
        INADDR_BROADCAST,
        INADDR_LOOPBACK,
        IP_PKTINFO,
        IP_RECVERR,
        IP_RECVTOS,
        IP_RECVTTL,
        IPV6_HOPLIMIT,
        IPV6_PKTINFO,
        IPV6_RECVERR,
        IPV6_RECVHOPLIMIT,
        IPV6_RECVPKTINFO,
        IPV6_RECVTCLASS,
        IPV6_TCLASS,
        MSG_CTRUNC,
        MSG_ERRQUEUE,
        SCM_TIMESTAMP,
        SCM_TIMESTAMPNS,
        SO_TIMESTAMP,
        SO_TIMESTAMPNS,
        SOCK_CLOEXEC,
        SOCK_DGRAM,
        SOCK_NONBLOCK,
        SOL_IP,
        SOL_UDP,
        UDP_GRO,
        UDP_SEGMENT,
        error,
        gaierror,
        getaddrinfo,
        getdefaulttimeout,
        gethostbyname,
        gethostname,
        herror,
        setdefaulttimeout,
        timeout,
    )

#: Where each lazily imported name lives.
_LAZY_HOMES = ("udpeco._stdlib", "udpeco._socket", "udpeco._stats", "udpeco._datagram")

__all__ = [
    "__version__",
    "AF_INET",
    "AF_INET6",
    "AF_UNSPEC",
    "BenchCounts",
    "BenchInterval",
    "BenchLatency",
    "BenchProgress",
    "BenchReport",
    "Capture",
    "CapturedDatagram",
    "CMSG_LEN",
    "CMSG_SPACE",
    "Client",
    "EchoServer",
    "EchoStats",
    "INADDR_ANY",
    "INADDR_BROADCAST",
    "INADDR_LOOPBACK",
    "IPPROTO_IP",
    "IPPROTO_IPV6",
    "IPPROTO_UDP",
    "IPV6_HOPLIMIT",
    "IPV6_PKTINFO",
    "IPV6_RECVERR",
    "IPV6_RECVHOPLIMIT",
    "IPV6_RECVPKTINFO",
    "IPV6_RECVTCLASS",
    "IPV6_TCLASS",
    "IPV6_V6ONLY",
    "IP_MULTICAST_LOOP",
    "IP_MULTICAST_TTL",
    "IP_PKTINFO",
    "IP_RECVERR",
    "IP_RECVTOS",
    "IP_RECVTTL",
    "IP_TOS",
    "IP_TTL",
    "MSG_CTRUNC",
    "MSG_DONTWAIT",
    "MSG_ERRQUEUE",
    "MSG_PEEK",
    "MSG_TRUNC",
    "SCM_TIMESTAMP",
    "SCM_TIMESTAMPNS",
    "Proxy",
    "ProxyDirectionStats",
    "ProxyStats",
    "SHUT_RD",
    "SHUT_RDWR",
    "SHUT_WR",
    "SOCK_CLOEXEC",
    "SOCK_DGRAM",
    "SOCK_NONBLOCK",
    "SOL_IP",
    "SOL_SOCKET",
    "SOL_UDP",
    "SO_BROADCAST",
    "SO_ERROR",
    "SO_RCVBUF",
    "SO_RCVTIMEO",
    "SO_REUSEADDR",
    "SO_REUSEPORT",
    "SO_SNDBUF",
    "SO_SNDTIMEO",
    "SO_TIMESTAMP",
    "SO_TIMESTAMPNS",
    "SO_TYPE",
    "ScanResult",
    "UDP_GRO",
    "UDP_SEGMENT",
    "bench",
    "capture",
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


# Hidden from type checkers, which see the imports above instead (and still flag a misspelt
# attribute, which a visible module __getattr__ would hide).
if not TYPE_CHECKING:

    def _load_lazy() -> None:
        """Imports every lazily imported name into this module's namespace (once)."""
        import importlib

        for home in _LAZY_HOMES:
            module = importlib.import_module(home)
            for name in _LAZY_NAMES:
                if name not in globals() and hasattr(module, name):
                    globals()[name] = getattr(module, name)

    def __getattr__(name: str) -> object:
        if name in _LAZY_NAMES:
            _load_lazy()
            return globals()[name]
        raise AttributeError(f"module 'udpeco' has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(globals()) | _LAZY_NAMES)

    #: The public names not imported yet: they come from _LAZY_HOMES on first use.
    _LAZY_NAMES = frozenset(__all__) - set(globals())

del TYPE_CHECKING
