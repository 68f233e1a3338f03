"""Type stub for the compiled core ``udpeco._udpeco`` (hand-written, checked by mypy.stubtest)."""

from collections.abc import Callable, Iterable
from os import PathLike
from socket import AddressFamily, SocketKind
from types import TracebackType
from typing import Any, Protocol, TypeVar, final

from _typeshed import ReadableBuffer, WriteableBuffer
from typing_extensions import Self, disjoint_base

from udpeco.stats import EchoStats

_Address = tuple[Any, ...]
_T = TypeVar("_T")

class _HasFileno(Protocol):
    def fileno(self) -> int: ...

_FileLike = int | _HasFileno

__all__ = [
    "AF_INET",
    "AF_INET6",
    "Client",
    "EchoServer",
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
    "SCAN_DEFAULT_CONCURRENCY",
    "ScanResult",
    "bench",
    "scan",
    "select",
    "socket",
]

AF_INET: int
AF_INET6: int
SOCK_DGRAM: int
SOCK_NONBLOCK: int
SOCK_CLOEXEC: int
SOL_SOCKET: int
SO_REUSEADDR: int
SO_REUSEPORT: int
SO_RCVBUF: int
SO_SNDBUF: int
SO_BROADCAST: int
SO_ERROR: int
SO_TYPE: int
SO_RCVTIMEO: int
SO_SNDTIMEO: int
IPPROTO_IP: int
IPPROTO_IPV6: int
IPPROTO_UDP: int
IP_TTL: int
IP_TOS: int
IP_MULTICAST_TTL: int
IP_MULTICAST_LOOP: int
IPV6_V6ONLY: int
MSG_PEEK: int
MSG_DONTWAIT: int
MSG_TRUNC: int
SHUT_RD: int
SHUT_WR: int
SHUT_RDWR: int

@disjoint_base
class socket:
    """A UDP socket with the stdlib's interface, backed by Rust."""

    def __new__(cls, family: int = ..., type: int = ..., proto: int = ...) -> socket: ...
    @property
    def family(self) -> AddressFamily: ...
    @property
    def type(self) -> SocketKind: ...
    @property
    def proto(self) -> int: ...
    @property
    def timeout(self) -> float | None: ...
    def bind(self, address: _Address, /) -> None: ...
    def connect(self, address: _Address, /) -> None: ...
    def connect_ex(self, address: _Address, /) -> int: ...
    def sendto(self, data: ReadableBuffer, /, *args: Any) -> int: ...
    def send(self, data: ReadableBuffer, flags: int = 0, /) -> int: ...
    def sendall(self, data: ReadableBuffer, flags: int = 0, /) -> None: ...
    def recvfrom(self, bufsize: int, flags: int = 0, /) -> tuple[bytes, Any]: ...
    def recv(self, bufsize: int, flags: int = 0, /) -> bytes: ...
    def recvfrom_into(
        self, buffer: WriteableBuffer, nbytes: int = 0, flags: int = 0
    ) -> tuple[int, Any]: ...
    def recv_into(self, buffer: WriteableBuffer, nbytes: int = 0, flags: int = 0) -> int: ...
    def settimeout(self, value: float | None, /) -> None: ...
    def gettimeout(self) -> float | None: ...
    def setblocking(self, flag: bool, /) -> None: ...
    def getblocking(self) -> bool: ...
    def setsockopt(
        self,
        level: int,
        optname: int,
        value: int | ReadableBuffer | None,
        optlen: int | None = None,
        /,
    ) -> None: ...
    def getsockopt(self, level: int, optname: int, buflen: int | None = None, /) -> Any: ...
    def getsockname(self) -> Any: ...
    def getpeername(self) -> Any: ...
    def fileno(self) -> int: ...
    def close(self) -> None: ...
    def detach(self) -> int: ...
    def shutdown(self, how: int, /) -> None: ...
    def __enter__(self: _T) -> _T: ...
    def __exit__(self, *args: object) -> None: ...

def select(
    rlist: Iterable[_T],
    wlist: Iterable[_T],
    xlist: Iterable[_T],
    timeout: float | None = None,
) -> tuple[list[_T], list[_T], list[_T]]: ...

# ---- timed client and load generator (src/python/client.rs, src/python/load.rs) ----

@final
class Client:
    """A UDP request/response client with a reply timeout and retries."""

    def __new__(
        cls,
        host: str,
        port: int,
        timeout: float | None = 5.0,
        retries: int = 0,
        bufsize: int = 1024,
    ) -> Client: ...
    def request(self, data: bytes) -> bytes: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def timeout(self) -> float | None: ...
    @property
    def retries(self) -> int: ...
    @property
    def peer(self) -> tuple[str, int]: ...
    def __enter__(self) -> Client: ...
    def __exit__(
        self,
        *args: object,
    ) -> bool: ...

def bench(
    host: str,
    port: int,
    duration: float = 3.0,
    window: int = 64,
    size: int = 64,
    rate: float | None = None,
    *,
    progress: Callable[[dict[str, float]], Any] | None = None,
) -> dict[str, Any]: ...

# --- scanner (src/python/scan.rs) ---

SCAN_DEFAULT_CONCURRENCY: int

@final
class ScanResult:
    """The verdict for one UDP port."""

    @property
    def port(self) -> int: ...
    @property
    def state(self) -> str: ...
    @property
    def reply(self) -> bytes | None: ...
    @property
    def rtt(self) -> float | None: ...
    def __eq__(self, value: object, /) -> bool: ...

def scan(
    host: str,
    ports: str | Iterable[int],
    timeout: float = 0.5,
    probe: bytes = b"udpeco",
    retries: int = 1,
    concurrency: int = 2048,
    rate: float | None = None,
    *,
    progress: Callable[[int, int], object] | None = None,
) -> list[ScanResult]: ...

ECHO_LIMITS: dict[str, Any]

def escape(data: bytes) -> str: ...
def parse_port_spec(spec: str, allow_zero: bool = True) -> list[int]: ...

@final
class EchoServer:
    """The práctica's echo server run by the Rust engine (binds when constructed).

    Echoes every datagram to its sender from the socket that received it and prints
    ``Message[ip:port] - data`` per datagram. ``run()`` serves in the foreground; ``start()``
    and ``stop()`` (or ``with EchoServer(...) as server:``) in a background thread.

    Args:
        port: the port (default 44444; 0 = an ephemeral one).
        ports: several ports instead: ``"8888,9999"``, ``"30000-39999"`` or ints (0 =
            ephemeral); each reply leaves from the port its datagram arrived on.
        host: ``''`` (all IPv4 interfaces), ``'::'`` (all IPv6), an address or a name.
        bufsize: the longest datagram read, longer ones truncated (default 1024, 65535 with
            ``log``).
        stop: the sentinel that ends ``run()``, compared after stripping whitespace (default
            ``b"."``; ``None``: never).
        reply_stop: answer the sentinel before stopping (exercise 4).
        delay: seconds each reply waits (exercise 10), without holding up other clients.
        idle_timeout: end ``run()`` after this many seconds without a datagram (exercise 9).
        log: a file that gets one escaped line per datagram (final exercise 2).
        quiet: do not print a line per datagram.
        workers: threads sharing the ports with ``SO_REUSEPORT``.
        silence: print ``Han pasado S seg sin recibir nada...`` after each S s of silence.
        random_port: ``(first, last)``: a random free port of the range (final exercise 1).
        guard: drop datagrams from the server's own ports, port 0 and reflector ports, and
            apply the default rate limit (``False``: none of that).
        rate_limit: datagrams a second per source address (default 1000 with the guard;
            0 = no limit).
        burst: datagrams one source may send at once (default 2000).
        allow: answer only these addresses/networks (``"10.0.0.0/8,192.168.1.5"`` or an
            iterable of strings).
        deny: never answer these addresses/networks.
        delay_queue: most bytes of replies waiting for ``delay`` (default 64 MiB); beyond it
            datagrams are dropped.
        overwrite: empty an existing ``log`` first (default: append).
    """

    def __new__(
        cls,
        port: int = 44444,
        *,
        ports: Iterable[int] | str | None = None,
        host: str = "",
        bufsize: int | None = None,
        stop: bytes | str | None = b".",
        reply_stop: bool = False,
        delay: float = 0.0,
        idle_timeout: float | None = None,
        log: str | PathLike[str] | None = None,
        quiet: bool = False,
        workers: int = 1,
        silence: float | None = None,
        random_port: tuple[int, int] | None = None,
        guard: bool = True,
        rate_limit: float | None = None,
        burst: float | None = None,
        allow: str | Iterable[str] | None = None,
        deny: str | Iterable[str] | None = None,
        delay_queue: int | None = None,
        overwrite: bool = False,
    ) -> Self: ...
    @property
    def log_error(self) -> str | None: ...
    @property
    def ports(self) -> list[int]: ...
    @property
    def host(self) -> str: ...
    @property
    def stats(self) -> EchoStats:
        """The counters (see :class:`EchoStats`)."""
    @property
    def running(self) -> bool: ...
    @property
    def closed(self) -> bool: ...
    def run(self) -> EchoStats:
        """Serves until the sentinel, ``idle_timeout`` or ``stop()``; returns the counters."""
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> bool: ...
