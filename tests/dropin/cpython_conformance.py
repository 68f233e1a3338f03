"""Runs the UDP-relevant classes of CPython's own socket, select and timeout tests.

    python tests/dropin/cpython_conformance.py stdlib|udpeco [--json] [TEST_ID ...]

With ``udpeco``, every datagram socket the tests create is a ``udpeco.socket``: ``socket.socket``
is replaced, for the whole (child) process, by a class whose constructor makes a
``udpeco.socket`` for ``SOCK_DGRAM`` (also through ``fileno=``, ``socket.fromfd``, ``dup``)
and the stdlib's socket for anything else, and which ``isinstance`` accepts for both; and
``select.select`` is ``udpeco.select``. The tests are CPython's, shipped with the interpreter
(the ``test`` package). Prints one line per test: ``<outcome> <test id>``, outcome one of
pass, fail, error, skip (``--json``: a JSON object instead).
"""

from __future__ import annotations

import json
import select
import socket
import sys
import unittest
from typing import Any

#: (module, class) pairs: UDP, UDP6 and UDPLITE I/O, timeouts, interrupted receives,
#: sendmsg/recvmsg over UDP, select, and the generic socket tests (which use datagram sockets
#: where they need a socket of no particular kind).
CLASSES = [
    ("test.test_socket", "GeneralModuleTests"),
    ("test.test_socket", "BasicUDPTest"),
    ("test.test_socket", "BasicUDPLITETest"),
    ("test.test_socket", "UDPTimeoutTest"),
    ("test.test_socket", "UDPLITETimeoutTest"),
    ("test.test_socket", "InterruptedRecvTimeoutTest"),
    ("test.test_socket", "SendmsgUDPTest"),
    ("test.test_socket", "RecvmsgUDPTest"),
    ("test.test_socket", "RecvmsgIntoUDPTest"),
    ("test.test_socket", "SendmsgUDP6Test"),
    ("test.test_socket", "RecvmsgUDP6Test"),
    ("test.test_socket", "RecvmsgIntoUDP6Test"),
    ("test.test_socket", "RecvmsgRFC3542AncillaryUDP6Test"),
    ("test.test_socket", "RecvmsgIntoRFC3542AncillaryUDP6Test"),
    ("test.test_socket", "SendmsgUDPLITETest"),
    ("test.test_socket", "RecvmsgUDPLITETest"),
    ("test.test_socket", "RecvmsgIntoUDPLITETest"),
    ("test.test_socket", "SendmsgUDPLITE6Test"),
    ("test.test_socket", "RecvmsgUDPLITE6Test"),
    ("test.test_socket", "RecvmsgIntoUDPLITE6Test"),
    ("test.test_socket", "RecvmsgRFC3542AncillaryUDPLITE6Test"),
    ("test.test_socket", "RecvmsgIntoRFC3542AncillaryUDPLITE6Test"),
    ("test.test_select", "SelectTestCase"),
    ("test.test_timeout", "UDPTimeoutTestCase"),
]

#: Tests left out, with the reason (also listed in docs/dropin.md).
EXCLUDED: dict[str, str] = {}


#: How many udpeco sockets the tests created (proof that the substitution took effect).
CREATED = [0]


def _is_dgram(kind: int) -> bool:
    return kind != -1 and kind & ~(socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC) == socket.SOCK_DGRAM


def install_udpeco() -> None:
    """Replaces socket.socket (for datagram sockets) and select.select, process-wide."""
    import udpeco

    stdlib_socket = socket.socket

    class _Meta(type):
        def __instancecheck__(cls, obj: Any) -> bool:
            if cls is Dispatch:
                return isinstance(obj, stdlib_socket)
            return type.__instancecheck__(cls, obj)

        def __subclasscheck__(cls, sub: type) -> bool:
            if cls is Dispatch:
                return issubclass(sub, stdlib_socket)
            return type.__subclasscheck__(cls, sub)

    class Dispatch(stdlib_socket, metaclass=_Meta):
        """``socket.socket`` as the tests see it."""

        __slots__ = ()

        def __new__(cls, family: int = -1, type: int = -1, proto: int = -1, fileno: Any = None):  # noqa: A002
            if cls is not Dispatch:  # a subclass a test defines: the stdlib's way
                return stdlib_socket.__new__(cls, family, type, proto, fileno)
            kind = type
            if kind == -1 and fileno is not None:
                probe = stdlib_socket(family, type, proto, fileno)
                kind = probe.type
                probe.detach()
            if _is_dgram(kind):
                CREATED[0] += 1
                return udpeco.socket(family, type, proto, fileno)
            return stdlib_socket(family, type, proto, fileno)

    Dispatch.__name__ = Dispatch.__qualname__ = "socket"
    Dispatch.__module__ = "socket"
    socket.socket = Dispatch  # type: ignore[misc]
    select.select = udpeco.select  # type: ignore[assignment]


class _Result(unittest.TestResult):
    def __init__(self) -> None:
        super().__init__()
        self.outcomes: dict[str, str] = {}

    def addSuccess(self, test: unittest.TestCase) -> None:  # noqa: N802
        self.outcomes[test.id()] = "pass"

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:  # noqa: N802
        super().addFailure(test, err)
        self.outcomes[test.id()] = "fail"

    def addError(self, test: Any, err: Any) -> None:  # noqa: N802
        super().addError(test, err)
        self.outcomes[getattr(test, "id", lambda: str(test))()] = "error"

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:  # noqa: N802
        self.outcomes[test.id()] = "skip"

    def addExpectedFailure(self, test: unittest.TestCase, err: Any) -> None:  # noqa: N802
        self.outcomes[test.id()] = "pass"

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:  # noqa: N802
        self.outcomes[test.id()] = "fail"


def run(backend: str, only: set[str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """Runs the classes; returns outcomes and the tracebacks of failures, by test id."""
    import importlib

    modules = {name: importlib.import_module(name) for name, _ in CLASSES}
    if backend == "udpeco":
        install_udpeco()
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for mod, cls in CLASSES:
        for test in loader.loadTestsFromTestCase(getattr(modules[mod], cls)):
            if test.id() not in EXCLUDED and (only is None or test.id() in only):
                suite.addTest(test)
    result = _Result()
    suite.run(result)
    details = {
        getattr(t, "id", lambda t=t: str(t))(): tb for t, tb in result.failures + result.errors
    }
    return result.outcomes, details


def main() -> None:
    backend = sys.argv[1]
    out = sys.stdout
    sys.stdout = sys.stderr  # what the tests print does not mix with the results
    only = {a for a in sys.argv[2:] if not a.startswith("--")} or None
    outcomes, details = run(backend, only)
    sys.stdout = out
    if "--json" in sys.argv:
        json.dump({"outcomes": outcomes, "details": details, "udpeco_sockets": CREATED[0]}, out)
        return
    for test_id, outcome in sorted(outcomes.items()):
        print(outcome, test_id)


if __name__ == "__main__":
    main()
