"""Argument types shared by the subcommands: each turns a command-line word into a value or
raises ``argparse.ArgumentTypeError`` with a one-line reason (the parser then prints
``udpeco COMMAND: error: argument --x: <reason>`` and exits with code 2)."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable

from udpeco._udpeco import MAX_SECONDS, escape


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


#: A server port, 1-65535.
port = int_in(1, 65535, "port")
#: A positive number of seconds (a timeout, a duration), at most the core's limit.
seconds = float_in(0, MAX_SECONDS, "number of seconds")
#: A number of seconds that may be 0 (a delay).
seconds_or_zero = float_in(0, MAX_SECONDS, "number of seconds", allow_low=True)


def host_name(text: str) -> str:
    """An argument type: a host name or address that is text. A command-line word that is not
    UTF-8 (``$'\\xff'``) reaches Python with surrogates and could never be looked up; it is
    refused here, shown with ``\\xNN`` for its bad bytes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = escape(os.fsencode(text))
        raise argparse.ArgumentTypeError(
            f"invalid host name '{shown}': not valid UTF-8 text"
        ) from None
    return text


def port_range(text: str) -> tuple[int, int]:
    """An argument type: ``FIRST-LAST`` within 1-65535, ``FIRST <= LAST``."""
    first, sep, last = text.partition("-")
    try:
        lo, hi = int(first), int(last)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid port range {text!r}: expected FIRST-LAST, e.g. 20000-20100"
        ) from None
    if not sep or not 1 <= lo <= hi <= 65535:
        raise argparse.ArgumentTypeError(
            f"invalid port range {text!r}: expected FIRST-LAST within 1-65535, FIRST <= LAST"
        )
    return lo, hi
