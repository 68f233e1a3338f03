# Type stubs for the compiled extension ``udpeco._udpeco`` (checked by mypy.stubtest).

from typing import Any, Callable, Optional

class Client:
    """A UDP request/response client with a reply timeout and retries."""

    def __init__(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = 5.0,
        retries: int = 0,
        bufsize: int = 1024,
    ) -> None: ...
    def request(self, data: bytes) -> bytes: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def timeout(self) -> Optional[float]: ...
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
    rate: Optional[float] = None,
    *,
    progress: Optional[Callable[[dict[str, float]], Any]] = None,
) -> dict[str, Any]: ...
