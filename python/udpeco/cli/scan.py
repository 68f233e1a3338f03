"""``udpeco scan HOST PORTS``: find open UDP ports, with nmap's verdicts, in milliseconds.

Prints ``PORT/udp open`` for each open port (every verdict with ``--all``), then a summary
line with the count of each verdict and the elapsed time. A progress bar is drawn on stderr
when stderr is a terminal and the scan lasts long enough to need one.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time

from udpeco import _udpeco
from udpeco.cli import fail
from udpeco.cli.argtypes import float_in, int_in, seconds

#: Verdicts in the order the summary lists them.
STATES = ("open", "open|filtered", "filtered", "closed")
#: A scan shorter than this draws no progress bar.
BAR_AFTER = 0.3
BAR_WIDTH = 30


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the ``scan`` subcommand."""
    p = subparsers.add_parser(
        "scan",
        help="find open UDP ports (nmap -sU verdicts), many ports at once",
        description=(
            "Probe UDP ports of HOST many at a time. Verdicts as nmap -sU: open (an answer "
            "came), closed (ICMP port unreachable), filtered (other ICMP unreachable), "
            "open|filtered (no answer after every probe)."
        ),
    )
    p.add_argument("host", metavar="HOST", help="name or IPv4/IPv6 address (resolved once)")
    p.add_argument("ports", metavar="PORTS", help="ports, e.g. 20000-20100 or 7,9,20000-20100")
    p.add_argument(
        "--timeout", type=seconds, default=0.5, metavar="S", help="wait per probe (0.5 s)"
    )
    p.add_argument(
        "--retries",
        type=int_in(1, 100, "number of retries"),
        default=1,
        metavar="N",
        help="probes again before open|filtered (1, at least 1)",
    )
    p.add_argument(
        "--rate",
        type=float_in(0, 1e9, "rate"),
        default=None,
        metavar="R",
        help="at most R probes per second",
    )
    p.add_argument(
        "--probe", default="udpeco", metavar="TEXT", help="payload of each probe (udpeco)"
    )
    p.add_argument("--all", action="store_true", help="print every port's verdict")
    p.set_defaults(func=run)


class Bar:
    """A progress bar on stderr, drawn only on a terminal once the scan is long."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.enabled = sys.stderr.isatty()
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or time.monotonic() - self.start < BAR_AFTER:
            return
        filled = BAR_WIDTH * done // max(total, 1)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        sys.stderr.write(f"\r[{bar}] {done}/{total} ports")
        sys.stderr.flush()
        self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            sys.stderr.write("\r" + " " * (BAR_WIDTH + 30) + "\r")
            sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    """Runs the scan and prints the verdicts and the summary."""
    try:
        bar = Bar()
        start = time.monotonic()
        try:
            results = _udpeco.scan(
                args.host,
                args.ports,
                timeout=args.timeout,
                probe=args.probe.encode(),
                retries=args.retries,
                rate=args.rate,
                progress=bar if bar.enabled else None,
            )
        finally:
            bar.clear()
        elapsed_ms = (time.monotonic() - start) * 1000
    except (ValueError, OverflowError) as e:
        return fail(str(e), 2)
    except socket.gaierror as e:  # the same words as `udpeco client` and `udpeco bench`
        return fail(f"cannot resolve {args.host!r}: {e.strerror or e}")
    counts = dict.fromkeys(STATES, 0)
    for r in results:
        counts[r.state] += 1
        if args.all or r.state == "open":
            print(f"{r.port}/udp {r.state}")
    summary = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
    print(f"{len(results)} ports scanned on {args.host} in {elapsed_ms:.1f} ms: {summary or '-'}")
    return 0
