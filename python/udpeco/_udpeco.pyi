"""Type stubs for the compiled extension ``udpeco._udpeco`` (hand-written)."""

from collections.abc import Callable, Iterable
from typing import final

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
