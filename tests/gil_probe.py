"""A probe that shows the GIL is released: another Python thread counts while a call blocks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Ticks:
    """How many times the other thread ran (about one tick per millisecond it could run)."""

    count = 0


@contextmanager
def other_thread_ticking() -> Iterator[Ticks]:
    """Runs a counting thread for the duration of the ``with`` block."""
    ticks = Ticks()
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            ticks.count += 1
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    try:
        yield ticks
    finally:
        stop.set()
        t.join()
