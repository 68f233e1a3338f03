"""Helpers of the differential drop-in suite (the fixtures are in conftest.py).

A module of its own, with a name no other test directory uses, so that test modules can
import it whatever other conftest.py files the test run loads.
"""

from __future__ import annotations

import select
import socket
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

import pytest

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Backend:
    """One implementation of the socket/select API under test."""

    name: str
    mod: ModuleType
    select: Callable[..., Any]

    def udp(self, family: int = socket.AF_INET) -> Any:
        """A new UDP socket of this backend."""
        return self.mod.socket(family, self.mod.SOCK_DGRAM)


STDLIB = Backend("stdlib", socket, select.select)


def outcome(steps: Callable[[Backend], Any], backend: Backend) -> tuple:
    """What the steps did: ``("ok", value)`` or ``("raise", class, errno, message)``."""
    try:
        return ("ok", steps(backend))
    except Exception as e:
        return ("raise", type(e), getattr(e, "errno", None), str(e))


def same_as_stdlib(bk: Backend, steps: Callable[[Backend], Any]) -> tuple:
    """Runs ``steps`` on ``bk`` and on the stdlib; asserts equal outcomes; returns it.

    ``steps`` must return values that do not depend on the run (no ephemeral ports).
    """
    got = outcome(steps, bk)
    ref = outcome(steps, STDLIB)
    assert got == ref, f"{bk.name}: {got!r} != stdlib: {ref!r}"
    return got


def raises_exactly(
    fn: Callable[[], Any],
    cls: type[BaseException],
    errno: int | None = None,
    message: str | None = None,
) -> BaseException:
    """Asserts ``fn()`` raises exactly ``cls`` (not a subclass) with that errno and message."""
    with pytest.raises(BaseException) as info:
        fn()
    e = info.value
    assert type(e) is cls, f"raised {type(e).__name__}: {e}, expected {cls.__name__}"
    assert getattr(e, "errno", None) == errno, f"errno {getattr(e, 'errno', None)} != {errno}"
    if message is not None:
        assert str(e) == message
    return e
