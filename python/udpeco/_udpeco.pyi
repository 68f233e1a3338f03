"""Type stubs for the compiled module ``udpeco._udpeco`` (hand-written; checked by stubtest)."""

from collections.abc import Iterable
from os import PathLike
from types import TracebackType
from typing import final

from typing_extensions import Self

@final
class EchoServer:
    """The práctica's echo server run by the Rust engine (binds at construction)."""

    def __new__(
        cls,
        port: int = 44444,
        *,
        ports: Iterable[int] | str | None = None,
        host: str = "",
        bufsize: int = 1024,
        stop: bytes | str | None = b".",
        reply_stop: bool = False,
        delay: float = 0.0,
        idle_timeout: float | None = None,
        log: str | PathLike[str] | None = None,
        quiet: bool = False,
        workers: int = 1,
        silence: float | None = None,
        random_port: tuple[int, int] | None = None,
    ) -> Self: ...
    @property
    def ports(self) -> list[int]: ...
    @property
    def host(self) -> str: ...
    @property
    def stats(self) -> dict[str, int]: ...
    @property
    def running(self) -> bool: ...
    def run(self) -> dict[str, int]: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> bool: ...
