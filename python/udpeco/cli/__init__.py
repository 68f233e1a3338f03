"""The ``udpeco`` command line: serve, client, scan, capture, bench, proxy, compare, check,
practica.

Each subcommand lives in its own module of this package, which exposes ``register(subparsers)``
to add its parser (setting ``func`` to the function that runs it).

Every user mistake, found by the parser or while running, is one line on stderr in one style,
``udpeco COMMAND: error: MESSAGE`` (``udpeco: error: MESSAGE`` before a command is known), and a
non-zero exit code (2 for a bad command line, 1 for a failure while running), never a
traceback. Subcommands report with :func:`fail`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Callable, Sequence

#: ``typing.TYPE_CHECKING`` without importing typing (5-20 ms of start-up).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS = ("serve", "client", "scan", "capture", "bench", "proxy", "compare", "check", "practica")


#: The prefix of every error line: ``udpeco`` until the command is known, then ``udpeco serve``...
_prog = "udpeco"


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` reads it ($COLUMNS, then stdout's
    terminal, else 80), without importing shutil (about 10 ms, with bz2 and lzma)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


_sized_formatters: dict[type, type] = {}


def _sized(formatter: type[argparse.HelpFormatter]) -> type[argparse.HelpFormatter]:
    """``formatter`` given the terminal's width by :func:`_columns` (argparse would ask shutil,
    which every parser builds a formatter for while adding its arguments)."""
    if formatter not in _sized_formatters:

        class Sized(formatter):  # type: ignore[valid-type,misc]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                if len(args) < 4 and kwargs.get("width") is None:
                    kwargs["width"] = _columns() - 2  # argparse's own margin
                super().__init__(*args, **kwargs)

        _sized_formatters[formatter] = Sized
    return _sized_formatters[formatter]


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are a single line and exit code 2 (and whose help is
    formatted without importing shutil)."""

    def __init__(
        self,
        *args: Any,
        formatter_class: type[argparse.HelpFormatter] = argparse.HelpFormatter,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, formatter_class=_sized(formatter_class), **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, with every subcommand registered (only `only`, when it names one: the
    others' modules, and what they import, then cost no start-up time)."""
    parser = OneLineParser(
        prog="udpeco",
        description="Fast, correct UDP echo toolkit (Rust core) for the UDP client/server lab.",
        epilog="Run 'udpeco COMMAND --help' for a command's options and examples.",
    )
    from udpeco import __version__

    parser.add_argument("--version", action="version", version=f"udpeco {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=OneLineParser
    )
    subparsers.required = True
    for name in (only,) if only in COMMANDS else COMMANDS:
        importlib.import_module(f"udpeco.cli.{name}").register(subparsers)
    return parser


def duration_text(seconds: float) -> str:
    """A duration in the unit a person reads: ``812.5 ms``, ``4.99 s``, ``2 min 05 s``."""
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def fail(message: str, code: int = 1) -> int:
    """Prints ``udpeco COMMAND: error: message`` on stderr (the parser's own style) and returns
    ``code`` (for ``sys.exit``): 2 for a mistake in the command line, 1 for a failure at run
    time."""
    print(f"{_prog}: error: {message}", file=sys.stderr, flush=True)
    return code


#: The signals that stop a long-running command (serve, proxy), with the exit code each gives.
STOP_SIGNALS = {signal.SIGINT: 130, signal.SIGTERM: 143}


def run_until_signal(
    start: Callable[[], None],
    alive: Callable[[], bool],
    stop: Callable[[], None],
    poll: float = 0.05,
) -> int:
    """Runs an engine in its background thread until it ends by itself or SIGINT/SIGTERM.

    Both signals are blocked in this thread before ``start()`` (so in the engine's threads too,
    which inherit the mask) and taken with ``sigtimedwait``: no handler runs, nothing can raise
    halfway, and a second signal (SIGINT and SIGTERM together) is absorbed. ``stop()`` runs
    either way (its exception propagates). Returns 0, or 128 + the signal's number.
    """
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    code = 0
    try:
        try:
            start()
            while alive():
                got = signal.sigtimedwait(STOP_SIGNALS, poll)
                if got is not None:
                    code = STOP_SIGNALS[signal.Signals(got.si_signo)]
                    break
        finally:
            stop()
    finally:
        while signal.sigtimedwait(STOP_SIGNALS, 0) is not None:
            pass  # a second signal is already answered
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``udpeco`` script and of ``python -m udpeco``."""
    try:
        # Ctrl+C (SIGINT) raises KeyboardInterrupt even if the parent started us with SIGINT
        # ignored (a non-interactive shell's `&`), as the lab programs do (practica3.backend).
        signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:
        pass  # not the main thread (main() called from a thread): its handler stays
    global _prog
    given = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(given[0] if given else None)
    args = parser.parse_args(given)
    _prog = f"udpeco {args.command}"
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except OSError as e:
        return fail(str(e))
