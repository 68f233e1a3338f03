"""``udpeco scan HOST PORTS``: find open UDP ports, with nmap's verdicts, in milliseconds.

Prints ``PORT/udp open SERVICE`` for each open port as soon as it is found (every other
verdict at the end with ``--all``), then a summary line with the count of each verdict and
the elapsed time; ``--json`` prints JSON Lines instead (docs/json.md), ``-oX FILE`` writes
nmap's XML. A progress bar is drawn on stderr when stderr is a terminal and the scan lasts
long enough.
"""

from __future__ import annotations

import argparse
import sys
import time

from udpeco import _udpeco
from udpeco.cli import duration_text, fail
from udpeco.cli.argtypes import float_in, host_name, int_in, seconds

#: Where nmap keeps its payload file when it is installed.
NMAP_PAYLOADS = "/usr/share/nmap/nmap-payloads"

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
    p.add_argument(
        "host", metavar="HOST", type=host_name, help="name or IPv4/IPv6 address (resolved once)"
    )
    p.add_argument("ports", metavar="PORTS", help="ports, e.g. 20000-20100 or 7,9,20000-20100")
    p.add_argument(
        "--timeout", type=seconds, default=0.5, metavar="S", help="wait per probe (0.5 s)"
    )
    p.add_argument(
        "--retries",
        type=int_in(*_udpeco.LIMITS["scan_retries"], "number of retries"),
        default=1,
        metavar="N",
        help="probes again before open|filtered (1, at least 1)",
    )
    p.add_argument(
        "--rate",
        type=float_in(*_udpeco.LIMITS["scan_rate"], "rate"),
        default=None,
        metavar="R",
        help="at most R probes per second",
    )
    p.add_argument(
        "--probe",
        default=None,
        metavar="TEXT",
        help="send TEXT to every port (default: each well-known port its protocol's probes, "
        "udpeco elsewhere)",
    )
    p.add_argument(
        "--nmap-payloads",
        nargs="?",
        const=NMAP_PAYLOADS,
        default=None,
        metavar="FILE",
        help=f"also send the payloads of nmap's nmap-payloads file ({NMAP_PAYLOADS})",
    )
    p.add_argument(
        "--source",
        default=None,
        metavar="ADDR[,ADDR...]",
        help="probe from these local addresses, ports shared out between them (a target "
        "limits its ICMP errors per source address: N addresses, N times the pace)",
    )
    p.add_argument("--all", action="store_true", help="print every port's verdict")
    p.add_argument("--reason", action="store_true", help="say why each verdict (as nmap)")
    p.add_argument(
        "--json", action="store_true", help="JSON Lines: one object per port, then a summary"
    )
    p.add_argument("-oX", dest="xml", metavar="FILE", help="write nmap's XML to FILE (- stdout)")
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


def text_line(r: _udpeco.ScanResult, reason: bool) -> str:
    """``53/udp open domain`` (with ``--reason``: ``... udp-response``)."""
    line = f"{r.port}/udp {r.state} {r.service or 'unknown'}"
    return f"{line} {r.reason}" if reason else line


def _address(host: str) -> str:
    """The address the scan probed, by the engines' one rule."""
    return _udpeco.resolve_host(host)


def run(args: argparse.Namespace) -> int:
    """Runs the scan and prints the verdicts and the summary."""
    quiet_stdout = args.xml == "-"
    shown: set[int] = set()
    if args.json or args.xml is not None:  # imported only when needed: start-up time
        from udpeco.cli.scan_output import json_line, nmap_xml, summary_line
    else:
        json_line = nmap_xml = summary_line = None  # type: ignore[assignment]

    def found(r: _udpeco.ScanResult) -> None:
        if quiet_stdout:
            return
        shown.add(r.port)
        print(json_line(r) if args.json else text_line(r, args.reason), flush=True)

    if args.nmap_payloads is not None:
        try:
            with open(args.nmap_payloads, "rb"):
                pass
        except OSError as e:
            return fail(f"cannot read {args.nmap_payloads}: {e.strerror}", 2)
    # Only --all, --json and -oX show closed ports one by one; otherwise they are counted, and
    # a scan of 65535 ports builds (and walks) only the few results worth printing.
    every = args.all or args.json or args.xml is not None
    try:
        bar = Bar()
        start_wall, start = time.time(), time.monotonic()
        try:
            results = _udpeco.scan(
                args.host,
                args.ports,
                timeout=args.timeout,
                probe=None if args.probe is None else args.probe.encode(),
                retries=args.retries,
                rate=args.rate,
                progress=bar if bar.enabled else None,
                found=found,
                nmap_payloads=args.nmap_payloads,
                source=args.source,
                closed=every,
            )
        finally:
            bar.clear()
        elapsed = time.monotonic() - start
    except (ValueError, OverflowError) as e:
        return fail(str(e), 2)
    except OSError as e:
        import socket  # already loaded: the engines raise its gaierror

        if isinstance(e, socket.gaierror):  # the engines' one message (docs/hosts.md)
            return fail(str(e.strerror or e))
        raise
    counts = dict.fromkeys(STATES, 0)
    scanned = len(results)
    if not every:
        scanned = len(_udpeco.parse_port_spec(args.ports, allow_zero=False))
        counts["closed"] = scanned - len(results)
    for r in results:
        counts[r.state] += 1
        if quiet_stdout or r.port in shown or not (args.all or r.state == "open"):
            continue
        print(json_line(r) if args.json else text_line(r, args.reason))
    summary = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
    took = duration_text(elapsed)
    line = f"{scanned} ports scanned on {args.host} in {took}: {summary or '-'}"
    if args.xml is not None:
        xml = nmap_xml(
            args.host,
            _address(args.host),
            results,
            ["udpeco", *sys.argv[1:]],
            start_wall,
            time.time(),
        )
        try:
            if quiet_stdout:
                sys.stdout.write(xml)
            else:
                with open(args.xml, "w", encoding="utf-8") as f:
                    f.write(xml)
        except OSError as e:
            return fail(f"cannot write {args.xml}: {e.strerror}", 2)
    if not (args.json or quiet_stdout):
        print(line)
    elif not quiet_stdout:
        print(line, file=sys.stderr)
    if args.json and not quiet_stdout:
        print(summary_line(args.host, scanned, counts, elapsed))
    return 0
