"""``udpeco compare [SCENARIO]``: a práctica program on the stdlib, on udpeco, on the engine.

Runs each chosen scenario (see :mod:`udpeco.compare`) on the stdlib backend, on udpeco's drop-in
socket/select and on the matching Rust engine (its ``udpeco`` command), printing a line on
stderr as each run ends, then a side-by-side table per scenario: whether each transcript
matches the stdlib's, and the figure measured (echoes/s, lines/s or seconds) with its ratio to
the stdlib's. ``--json`` prints the tables as one JSON object instead.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import textwrap

from udpeco.cli.argtypes import float_in, int_in
from udpeco.compare import SCENARIOS, Options, Row
from udpeco.compare.report import as_json, diffs, progress_line, table

EXAMPLES = """\
examples:
  udpeco compare v1                  one scenario, about 20 s
  udpeco compare final1 --ports 101  the práctica's range: up to 100 s, a line per row
  udpeco compare all --repeat 1      every scenario once
  udpeco compare v3b_11 --json       the table as JSON on stdout (progress stays on stderr)

Ctrl+C stops it (and every lab server it started). Exit code 1 if a drop-in transcript
differs from the stdlib's. --json prints {"scenarios": [{"scenario": NAME, "rows":
[{"runner", "transcript", "figure", "unit", "vs_stdlib", "note"}], "differs": TEXT or null}
or {"scenario": NAME, "error": TEXT}], "status": EXIT CODE}; see docs/practica.md.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the ``compare`` subcommand."""
    scenarios = "\n".join(
        textwrap.fill(f"{s.name}: {s.help}", 78, subsequent_indent="    ")
        for s in SCENARIOS.values()
    )
    parser = subparsers.add_parser(
        "compare",
        help="run a práctica scenario on the stdlib, on udpeco and on its engine, side by side",
        description=textwrap.fill(
            "Run a práctica scenario on the stdlib backend (UDPECO_BACKEND=python), on "
            "udpeco's drop-in socket/select (UDPECO_BACKEND=rust) and on the matching Rust "
            "engine (udpeco serve, client, scan), and print whether the transcripts match and "
            "how fast each is. A line on stderr tells each run's figure as soon as it is "
            "measured.",
            78,
        ),
        epilog="scenarios:\n" + scenarios + "\nall: every scenario, in this order.\n\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "scenario",
        nargs="?",
        default="all",
        metavar="SCENARIO",
        help=f"one of {', '.join(SCENARIOS)} or all (default: all)",
    )
    parser.add_argument(
        "--duration",
        type=float_in(0, 3600, "duration"),
        default=2.0,
        metavar="S",
        help="seconds of load for each echoes/s figure (default: 2)",
    )
    parser.add_argument(
        "--ports",
        type=int_in(1, 1000, "port count"),
        default=11,
        metavar="N",
        help="final1: size of the port range scanned (default: 11; the práctica's is 101)",
    )
    parser.add_argument(
        "--messages",
        type=int_in(1, 10_000_000, "count"),
        default=20000,
        metavar="N",
        help="final2: datagrams written to the file (default: 20000)",
    )
    parser.add_argument(
        "--requests",
        type=int_in(1, 10_000_000, "count"),
        default=5000,
        metavar="N",
        help="client: requests each client sends (default: 5000)",
    )
    parser.add_argument(
        "--repeat",
        type=int_in(1, 100, "repeat count"),
        default=3,
        metavar="N",
        help="runs per row, interleaved; the best is shown (default: 3; final1 runs once)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the tables as one JSON object on stdout"
    )
    parser.set_defaults(func=run)


def _progress(name: str):  # type: ignore[no-untyped-def]
    def show(row: Row, run: int, runs: int) -> None:
        print(progress_line(name, row, run, runs), file=sys.stderr, flush=True)

    return show


def run(args: argparse.Namespace) -> int:
    """Runs the chosen scenarios and prints their tables; exit 1 if a drop-in transcript differs
    or a scenario cannot run."""
    from udpeco.cli import fail

    if args.scenario != "all" and args.scenario not in SCENARIOS:
        return fail(
            f"unknown scenario {args.scenario!r}; choose one of {', '.join(SCENARIOS)}, all", 2
        )
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    # SIGTERM stops the scenarios like Ctrl+C does: their `finally` blocks stop every lab
    # server they started (which also die with this process: harness.die_with_parent).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    status = 0
    results: list[dict[str, object]] = []
    for name in names:
        opts = Options(
            duration=args.duration,
            range_size=args.ports,
            messages=args.messages,
            requests=args.requests,
            repeat=args.repeat,
            progress=_progress(name),
        )
        try:
            rows = SCENARIOS[name].run(opts)
        except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as e:
            # A program that hangs (TimeoutExpired) or a load whose output is not a figure
            # (ValueError) fails this scenario in one line, not with a traceback.
            results.append({"scenario": name, "error": str(e)})
            if not args.json:
                print(f"{name}: could not run: {e}", flush=True)
            status = 1
            continue
        if rows[1].transcript != rows[0].transcript:
            status = 1  # the drop-in must print exactly what the stdlib prints
        results.append(as_json(name, rows))
        if args.json:
            continue
        print(table(name, rows), flush=True)
        shown = diffs(rows)
        if shown:
            print(shown, flush=True)
        print(flush=True)
    if args.json:
        print(json.dumps({"scenarios": results, "status": status}, ensure_ascii=False))
    return status
