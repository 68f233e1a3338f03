"""Argument types shared by the subcommands: each turns a command-line word into a value or
raises ``argparse.ArgumentTypeError`` with a one-line reason (the parser then prints
``udpeco COMMAND: error: argument --x: <reason>`` and exits with code 2).

The checks are the binding's (``check_host``, ``check_seconds``) and the bounds the core's
(``LIMITS``): no number here is a limit of its own."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from udpeco._udpeco import LIMITS, check_host, check_seconds


def int_in(low: int, high: int, what: str) -> Callable[[str], int]:
    """An argument type: a whole number from ``low`` to ``high``, named ``what`` in errors."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {what} {text!r}: not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"invalid {what} {text!r}: must be {low}-{high}")
        return value

    return parse


def float_in(
    low: float, high: float, what: str, *, allow_low: bool = False
) -> Callable[[str], float]:
    """An argument type: a finite number above ``low`` (or equal to it with ``allow_low``) and
    at most ``high``."""
    bound = f">= {low:g}" if allow_low else f"> {low:g}"
    bound += f" and <= {high:.0f}" if high == int(high) else f" and <= {high:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {what} {text!r}: not a number") from None
        above = value >= low if allow_low else value > low
        if not (math.isfinite(value) and above and value <= high):
            raise argparse.ArgumentTypeError(f"invalid {what} {text!r}: must be {bound}")
        return value

    return parse


#: The lowest and highest port, from the core.
PORT_LOW, PORT_HIGH = LIMITS["port"]
#: A server port.
port = int_in(PORT_LOW, PORT_HIGH, "port")


def _seconds(zero_ok: bool) -> Callable[[str], float]:
    """A number of seconds the engines accept (``check_seconds``), 0 too when ``zero_ok``."""
    low, high = LIMITS["seconds"]
    bound = f"{'0 or ' if zero_ok else ''}from {low:g} to {high:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid number of seconds {text!r}: not a number"
            ) from None
        try:
            return check_seconds(value, "time", zero_ok)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid number of seconds {text!r}: must be {bound}"
            ) from None

    return parse


#: A positive number of seconds (a timeout, a duration).
seconds = _seconds(False)
#: A number of seconds that may be 0 (a delay).
seconds_or_zero = _seconds(True)


def host_name(text: str) -> str:
    """An argument type: a host by the engines' one rule (docs/hosts.md), as far as it can be
    checked without a lookup; the message is the engines' own (a command-line word that is not
    UTF-8, ``$'\\xff'``, reaches Python with surrogates and is refused by it too)."""
    try:
        return check_host(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def port_range(text: str) -> tuple[int, int]:
    """An argument type: ``FIRST-LAST`` of ports, ``FIRST <= LAST``."""
    first, sep, last = text.partition("-")
    try:
        lo, hi = int(first), int(last)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid port range {text!r}: expected FIRST-LAST, e.g. 20000-20100"
        ) from None
    if not sep or not PORT_LOW <= lo <= hi <= PORT_HIGH:
        raise argparse.ArgumentTypeError(
            f"invalid port range {text!r}: expected FIRST-LAST within {PORT_LOW}-{PORT_HIGH}, "
            "FIRST <= LAST"
        )
    return lo, hi
