# Type stubs for the compiled extension ``udpeco._udpeco`` (checked by mypy.stubtest).

from typing import Any, Callable, final

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
