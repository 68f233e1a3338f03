"""The one helper every lab program shares: backend choice, arguments, timings, Ctrl+C.

``UDPECO_BACKEND`` picks the module the program's ``socket.socket(...)`` and
``select.select(...)`` calls go to:

- ``rust``: udpeco's drop-ins (``udpeco.socket``, ``udpeco.select``), the default when
  udpeco can be imported;
- ``python``: the stdlib's ``socket`` and ``select`` modules, the default otherwise (a copy
  of the program run with a plain ``python3``).

Any other value is a one-line error and exit code 2.

``PRACTICA_TIMEOUT_SCALE`` (a positive number, 1 by default) multiplies every time the
práctica fixes (the 5 s of silence, the 20 s of exercise 9, the 3 s sleep of exercise 10,
``settimeout(5.0)``, the 3 s of the stdin example, the 0.5 s scan timeout of final 1, the 5 s
of final 2), so that tests can run them shorter. Messages print the time actually used.
"""

from __future__ import annotations

import os
import signal
import sys
import types
from collections.abc import Callable

#: The backends ``UDPECO_BACKEND`` accepts.
BACKENDS = ("rust", "python")

# Lines appear as soon as they are printed, also when stdout is a pipe (tests, `tee`).
if hasattr(sys.stdout, "reconfigure"):
    sys.stdout.reconfigure(line_buffering=True)


def die(message: str, code: int = 2) -> None:
    """Prints ``message`` (one line, on stderr) and exits with ``code``."""
    print(message, file=sys.stderr)
    sys.exit(code)


def _load() -> tuple[types.ModuleType, types.SimpleNamespace | types.ModuleType]:
    """The ``(socket, select)`` pair for the backend ``UDPECO_BACKEND`` names."""
    name = os.environ.get("UDPECO_BACKEND", "").strip().lower()
    if not name:
        # Unset: udpeco's drop-ins when udpeco is installed, else the stdlib (a copy of the
        # program run with a plain python3, as a student runs it).
        try:
            import udpeco  # noqa: F401
        except ImportError:
            name = "python"
        else:
            name = "rust"
    if name == "python":
        import select as stdlib_select
        import socket as stdlib_socket

        return stdlib_socket, stdlib_select
    if name == "rust":
        try:
            import udpeco
        except ImportError as e:
            die(f"UDPECO_BACKEND=rust: udpeco cannot be imported ({e}); use UDPECO_BACKEND=python")
        if not hasattr(udpeco, "socket") or not hasattr(udpeco, "select"):
            die("UDPECO_BACKEND=rust: this udpeco has no socket/select; use UDPECO_BACKEND=python")
        # `udpeco` has the stdlib socket module's names (socket, AF_INET, SOCK_DGRAM, error,
        # timeout...); `select.select` must name udpeco's select function.
        return udpeco, types.SimpleNamespace(select=udpeco.select)
    die(f"UDPECO_BACKEND must be one of {', '.join(BACKENDS)}, not {name!r}")
    raise AssertionError  # unreachable: die() exits


def _scale() -> float:
    """The factor ``PRACTICA_TIMEOUT_SCALE`` gives (1.0 when unset)."""
    text = os.environ.get("PRACTICA_TIMEOUT_SCALE", "").strip()
    if not text:
        return 1.0
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e6:
        die(f"PRACTICA_TIMEOUT_SCALE must be a positive number, not {text!r}")
    return value


socket, select = _load()
SCALE = _scale()


def segundos(value: float) -> float:
    """A práctica time (in seconds) scaled by ``PRACTICA_TIMEOUT_SCALE``."""
    return value * SCALE


def fmt(value: float) -> str:
    """A time as the práctica prints it: ``5``, ``20``, ``0.5``."""
    return f"{value:g}"


def port_arg(text: str, usage: str) -> int:
    """``text`` as a UDP port number (0-65535); otherwise prints ``usage`` and exits 2."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        die(f"Puerto no valido: {text!r}. {usage}")
    return port


def host_arg(text: str, usage: str) -> str:
    """``text`` as a host name or address; one that is not valid text (a command-line word whose
    bytes are not UTF-8, e.g. ``$'\\xff'``) prints ``usage`` and exits 2: it could never be
    looked up, and the socket call would raise a ``UnicodeEncodeError`` or ``TypeError``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        die(f"Nombre de host no valido: '{texto(os.fsencode(text))}'. {usage}")
    return text


def seconds_arg(text: str, usage: str) -> float:
    """``text`` as a non-negative number of seconds; otherwise prints ``usage`` and exits 2."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1e6:
        die(f"Tiempo no valido: {text!r}. {usage}")
    return value


def _escape_py(data: bytes) -> str:
    """udpeco's escaping rule (docs/echo.md), for a checkout where udpeco is not installed;
    tests/test_safety_text.py checks that it matches ``udpeco.escape`` byte for byte."""
    out = []
    for ch in data.decode("utf-8", "surrogateescape"):
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif 0xDC80 <= o <= 0xDCFF:  # a byte that is not UTF-8
            out.append(f"\\x{o - 0xDC00:02x}")
        elif (
            o < 0x20
            or 0x7F <= o <= 0x9F
            or o in (0x2028, 0x2029)
            or 0x202A <= o <= 0x202E
            or 0x2066 <= o <= 0x2069
        ):
            out.append("".join(f"\\x{b:02x}" for b in ch.encode()))
        else:
            out.append(ch)
    return "".join(out)


try:
    from udpeco._udpeco import escape as _escape
except ImportError:  # run as a script from a checkout where udpeco is not installed
    _escape = _escape_py


def texto(data: bytes, fin: bool = True) -> str:
    """Received bytes as text that cannot act on the terminal nor forge a line: udpeco's one
    escaping rule (``\\xNN`` for control characters and bytes that are not UTF-8, ``\\n``,
    ``\\r``, ``\\t``, ``\\\\``; printable text as it is). One line end at the very end stays
    as it is (unless ``fin=False``), so that the práctica's ``print(... + data)`` looks the
    same for typed text."""
    for end in (b"\r\n", b"\n") if fin else ():
        if data.endswith(end):
            return _escape(data[: -len(end)]) + end.decode()
    return _escape(data)


def run(main: Callable[[], object]) -> None:
    """Runs a program's ``main`` and exits with its return value.

    Ctrl+C ends it quietly with exit code 130; a socket error the program leaves uncaught
    (v1 has no ``try``) is one line on stderr and exit code 1, never a traceback.
    """
    # Ctrl+C raises KeyboardInterrupt even if the parent started us with SIGINT ignored
    # (a non-interactive shell's `&`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = main()
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except OSError as e:  # a socket error the program does not handle itself (v1): one line
        die(f"{type(e).__name__}: {e}", 1)
    except UnicodeError as e:  # a typed line whose bytes are not UTF-8: one line, no traceback
        die(f"Texto no valido (no es UTF-8): {e.reason}", 1)
    sys.exit(code if isinstance(code, int) else 0)
