"""Type stub for the compiled core ``udpeco._udpeco`` (hand-written, checked by mypy.stubtest)."""

import socket as _socket
from collections.abc import Callable, Iterable
from os import PathLike
from types import TracebackType
from typing import Any, Protocol, TypeVar, final

from _typeshed import ReadableBuffer, WriteableBuffer
from typing_extensions import Self

from udpeco._datagram import CapturedDatagram
from udpeco._stats import BenchProgress, BenchReport, EchoStats, ProxyStats

_Address = tuple[Any, ...]
_T = TypeVar("_T")

class _HasFileno(Protocol):
    def fileno(self) -> int: ...

_FileLike = int | _HasFileno

__all__ = [
    "AF_INET",
    "AF_INET6",
    "Capture",
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
    "Proxy",
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
    "capture",
    "scan",
    "select",
    "MSG_CTRUNC",
    "MSG_ERRQUEUE",
    "SOL_IP",
    "SOL_UDP",
    "IP_PKTINFO",
    "IP_RECVTOS",
    "IP_RECVTTL",
    "IP_RECVERR",
    "IPV6_PKTINFO",
    "IPV6_RECVPKTINFO",
    "IPV6_TCLASS",
    "IPV6_RECVTCLASS",
    "IPV6_HOPLIMIT",
    "IPV6_RECVHOPLIMIT",
    "IPV6_RECVERR",
    "SO_TIMESTAMP",
    "SO_TIMESTAMPNS",
    "SCM_TIMESTAMP",
    "SCM_TIMESTAMPNS",
    "UDP_SEGMENT",
    "UDP_GRO",
    "sock_recvmsg",
    "sock_recvmsg_into",
    "sock_sendmsg",
    "sock_recv_many",
    "sock_send_many",
]

#: The version of this build (Cargo.toml's), also ``udpeco.__version__``.
__version__: str

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

# The datagram I/O calls of ``udpeco.socket`` (a ``socket.socket`` subclass, defined in
# ``udpeco/_socket.py``), taking the socket first; installed as its methods.
def sock_recv(sock: _socket.socket, bufsize: int, flags: int = 0, /) -> bytes: ...
def sock_recvfrom(sock: _socket.socket, bufsize: int, flags: int = 0, /) -> tuple[bytes, Any]: ...
def sock_recv_into(sock: _socket.socket, /, *args: Any, **kwargs: Any) -> int: ...
def sock_recvfrom_into(sock: _socket.socket, /, *args: Any, **kwargs: Any) -> tuple[int, Any]: ...
def sock_send(sock: _socket.socket, data: ReadableBuffer, /, *args: Any) -> int: ...
def sock_sendall(sock: _socket.socket, data: ReadableBuffer, /, *args: Any) -> None: ...
def sock_sendto(sock: _socket.socket, data: ReadableBuffer, /, *args: Any) -> int: ...
def _install_method(cls: type, name: str, func: Callable[..., Any]) -> None: ...

_FAST_SOCKET_LAYOUT: bool

def select(
    rlist: Iterable[_T],
    wlist: Iterable[_T],
    xlist: Iterable[_T],
    timeout: float | None = None,
) -> tuple[list[_T], list[_T], list[_T]]: ...

# ---- hosts, seconds and bounds: the engines' conversions (src/python/convert.rs) ----

#: The one table of bounds and defaults, each defined once in the core. ``(low, high)``:
#: ``seconds`` (every timeout or duration: 1e-9 to 1e9), ``port``, ``bufsize``,
#: ``client_retries``, ``capture_count``, ``bench_size``, ``bench_window``, ``bench_rate``,
#: ``bench_interval``, ``scan_rate``, ``scan_retries``, ``workers``, ``echo_rate``,
#: ``echo_burst``, ``delay_queue``, ``proxy_delay``, ``proxy_queue_bytes``, ``proxy_clients``;
#: numbers: ``default_bufsize``, ``default_echo_rate``, ``default_echo_burst``,
#: ``default_delay_queue``, ``proxy_default_clients``, ``proxy_default_queue_bytes``; and
#: ``reflector_ports`` (the guard's port list, as text).
LIMITS: dict[str, Any]

def check_host(host: str) -> str:
    """``host`` if the engines accept it as far as is known without a lookup (docs/hosts.md),
    else their ``ValueError`` (``TypeError`` for a non-``str``)."""

def check_seconds(value: float, what: str, zero_ok: bool = False) -> float:
    """``value`` if the engines accept it as seconds for ``what``, else their ``ValueError``."""

def resolve_host(host: str, family: int = 0, *, bind: bool = False) -> str:
    """The address the engines use for ``host`` by the one rule of docs/hosts.md: ``family`` 0
    (either), ``AF_INET`` or ``AF_INET6``; ``bind`` for an address to serve on rather than a
    peer to reach. Raises ``ValueError`` or ``socket.gaierror`` as the engines do."""

# ---- timed client and load generator (src/python/client.rs, src/python/bench.rs) ----

@final
class Client:
    """A UDP request/response client with a reply timeout and retries.

    ``request`` never returns a reply that answers an earlier request (late, duplicated or
    reordered): with ``echo=True`` (the default, for echo servers) a reply counts only if it is
    the request's own bytes, and a request whose identical payload may still have an echo in
    flight is sent from a new source port; with ``echo=False`` (any server) a request after an
    unanswered try is sent from a new source port. ``stale`` counts the replies discarded.
    """

    def __new__(
        cls,
        host: str,
        port: int,
        timeout: float | None = 5.0,
        retries: int = 0,
        bufsize: int = 1024,
        *,
        echo: bool = True,
    ) -> Client: ...
    @property
    def stale(self) -> int: ...
    @property
    def echo(self) -> bool: ...
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
    window: int | None = None,
    size: int = 64,
    rate: float | None = None,
    *,
    progress: Callable[[BenchProgress], Any] | None = None,
    warmup: float = 0.0,
    interval: float | None = None,
    gso: bool = True,
) -> BenchReport: ...

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
    @property
    def service(self) -> str | None: ...
    @property
    def reason(self) -> str: ...
    def __eq__(self, value: object, /) -> bool: ...

def scan(
    host: str,
    ports: str | Iterable[int],
    timeout: float = 0.5,
    probe: bytes | None = None,
    retries: int = 1,
    concurrency: int = 4096,
    rate: float | None = None,
    *,
    progress: Callable[[int, int], object] | None = None,
    found: Callable[[ScanResult], object] | None = None,
    nmap_payloads: str | PathLike[str] | None = None,
    source: str | Iterable[str] | None = None,
    closed: bool = True,
) -> list[ScanResult]: ...
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
        host: ``''`` (all IPv4 interfaces), ``'::'`` (all IPv6), an address or a name
            (the engines' one rule, docs/hosts.md).
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

@final
class Capture:
    """An open capture of UDP datagrams (needs CAP_NET_RAW)."""

    def __new__(cls, iface: str | None = None, port: int | None = None) -> Capture: ...
    def recv(self, timeout: float | None = None) -> CapturedDatagram | None: ...
    @property
    def iface(self) -> str | None: ...
    @property
    def port(self) -> int | None: ...
    @property
    def closed(self) -> bool: ...
    def fileno(self) -> int: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: object) -> bool: ...
    def __iter__(self) -> Self: ...
    def __next__(self) -> CapturedDatagram: ...

def capture(
    iface: str | None = None,
    port: int | None = None,
    count: int | None = None,
    timeout: float | None = None,
) -> list[CapturedDatagram]: ...

# --- sendmsg/recvmsg and batch I/O on any socket object (src/python/msg.rs) ---
MSG_CTRUNC: int
MSG_ERRQUEUE: int
SOL_IP: int
SOL_UDP: int
IP_PKTINFO: int
IP_RECVTOS: int
IP_RECVTTL: int
IP_RECVERR: int
IPV6_PKTINFO: int
IPV6_RECVPKTINFO: int
IPV6_TCLASS: int
IPV6_RECVTCLASS: int
IPV6_HOPLIMIT: int
IPV6_RECVHOPLIMIT: int
IPV6_RECVERR: int
SO_TIMESTAMP: int
SO_TIMESTAMPNS: int
SCM_TIMESTAMP: int
SCM_TIMESTAMPNS: int
UDP_SEGMENT: int
UDP_GRO: int

class _SocketLike(Protocol):
    def family(self) -> int: ...
    def gettimeout(self) -> float | None: ...

_CMSG = tuple[int, int, bytes]

def sock_recvmsg(
    sock: _SocketLike, bufsize: int, ancbufsize: int = 0, flags: int = 0, /
) -> tuple[bytes, list[_CMSG], int, Any]:
    """``socket.recvmsg`` on ``sock``: ``(data, ancdata, msg_flags, address)``."""

def sock_recvmsg_into(
    sock: _SocketLike,
    buffers: Iterable[WriteableBuffer],
    ancbufsize: int = 0,
    flags: int = 0,
    /,
) -> tuple[int, list[_CMSG], int, Any]:
    """``socket.recvmsg_into`` on ``sock``: ``(nbytes, ancdata, msg_flags, address)``."""

def sock_sendmsg(
    sock: _SocketLike,
    buffers: Iterable[ReadableBuffer],
    /,
    *args: Any,
) -> int:
    """``socket.sendmsg(buffers[, ancdata[, flags[, address]]])`` on ``sock``."""

def sock_recv_many(sock: _SocketLike, max_count: int, bufsize: int, /) -> list[tuple[bytes, Any]]:
    """Up to ``max_count`` datagrams (more with ``UDP_GRO``) from one ``recvmmsg``."""

def sock_send_many(sock: _SocketLike, items: Iterable[tuple[ReadableBuffer, Any]], /) -> int:
    """Sends ``(data, address)`` pairs with ``sendmmsg`` (and UDP GSO); returns how many."""

# --- impairment proxy (src/python/proxy.rs) ---
#: Limits of ``Proxy``: longest ``delay``/``jitter`` (seconds), largest ``queue_bytes`` and
#: ``max_clients``.
_Endpoint = str | tuple[str, int] | int

@final
class Proxy:
    """A UDP impairment proxy: forwards datagrams from clients to ``target`` and the replies
    back, losing, duplicating, delaying and reordering them on purpose (no root, no netem).

    ``listen`` and ``target`` are ``"host:port"``, ``(host, port)`` or a bare port (on
    127.0.0.1); listen on port 0 for a free port and read it from ``.address``. Each option
    applies to each direction chosen by ``direction`` (``"both"``, ``"up"`` = clients to
    target, ``"down"`` = target to clients), so with ``"both"`` a round trip meets the loss
    twice. Probabilities are 0-1, ``delay`` and ``jitter`` are seconds (each copy waits
    ``delay`` plus a uniform 0-``jitter``). The same ``seed`` and the same datagrams in the same
    order give the same decisions; ``seed=None`` draws one (read it from ``.seed``). Delayed
    datagrams wait in a queue of at most ``queue_bytes``; what does not fit is dropped and
    counted as ``overflow``.

    Typical test use::

        with udpeco.Proxy(("127.0.0.1", 0), ("127.0.0.1", port), loss=0.2, seed=1) as p:
            c = udpeco.Client(*p.address, timeout=0.2, retries=5)
            ...
            p.stats()["up"]["dropped"]
    """

    def __new__(
        cls,
        listen: _Endpoint,
        target: _Endpoint,
        *,
        loss: float = 0.0,
        delay: float = 0.0,
        jitter: float = 0.0,
        dup: float = 0.0,
        reorder: float = 0.0,
        seed: int | None = None,
        direction: str = "both",
        queue_bytes: int = 16777216,
        max_clients: int = 1024,
    ) -> Self: ...
    @property
    def address(self) -> tuple[str, int]:
        """The ``(host, port)`` clients send to."""
    @property
    def target(self) -> tuple[str, int]: ...
    @property
    def seed(self) -> int: ...
    @property
    def running(self) -> bool: ...
    @property
    def closed(self) -> bool: ...
    def stats(self) -> ProxyStats:
        """``{"up": {...}, "down": {...}, "clients", "rejected", "queued_bytes"}``; each
        direction counts ``received``, ``forwarded`` (duplicates included), ``dropped`` (loss),
        ``duplicated``, ``reordered``, ``delayed``, ``overflow`` and ``send_errors`` (see
        :class:`ProxyStats`)."""
    def run(self) -> None:
        """Forwards in the foreground until ``stop()`` (returns) or Ctrl+C
        (``KeyboardInterrupt``)."""
    def start(self) -> None:
        """Forwards in a background thread (``with`` calls it)."""
    def stop(self) -> None: ...
    def close(self) -> None:
        """Stops and releases the sockets; ``stats()`` stays readable."""
    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> bool: ...
