"""``udpeco compare [SCENARIO]``: one práctica scenario on the stdlib, on udpeco, on the engine.

Runs each chosen scenario (see :mod:`udpeco.practica3.scenarios`) on the stdlib backend, on
udpeco's drop-in socket/select and, where one exists, on the matching Rust engine, then prints a
side-by-side table: whether each transcript matches the stdlib's, and the figure measured
(echoes/s, lines/s or seconds) with its ratio to the stdlib's.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import textwrap

from udpeco.cli.argtypes import float_in, int_in
from udpeco.practica3.harness import Options, Row
from udpeco.practica3.scenarios import SCENARIOS


def register(subparsers: argparse._SubParsersAction) -> None:
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
            "engine, and print whether the transcripts match and how fast each is. Exit code "
            "1 if the drop-in's transcript differs from the stdlib's.",
            78,
        ),
        epilog="scenarios:\n" + scenarios + "\n\nall: every scenario, in this order.",
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
        help="v1, v3, client, final2: runs per row, interleaved; the best is shown (default: 3)",
    )
    parser.set_defaults(func=run)


def _figure(row: Row) -> str:
    if row.figure is None:
        return "-"
    if row.unit == "s":
        return f"{row.figure:.3f} s"
    return f"{row.figure:,.0f} {row.unit}"


def _ratio(row: Row, base: Row) -> str:
    if row.figure is None or base.figure is None or row is base or not row.figure:
        return "1.00x" if row is base and row.figure is not None else "-"
    if row.unit == "s":  # shorter is better: how many times faster
        return f"{base.figure / row.figure:.2f}x"
    return f"{row.figure / base.figure:.2f}x"


def table(name: str, rows: list[Row]) -> str:
    """The side-by-side table for one scenario (the first row is the stdlib, the reference)."""
    base = rows[0]
    lines = [(name, "transcript", "figure", "vs stdlib", "notes")]
    for row in rows:
        if row.transcript is None and row.client is not None:
            same = "same (client)" if row.client == base.client else "DIFFERS (client)"
        elif row.transcript is None:
            same = "-"
        elif row is base:
            same = "reference"
        else:
            same = "same" if row.transcript == base.transcript else "DIFFERS"
        lines.append((row.runner, same, _figure(row), _ratio(row, base), row.note))
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    out = []
    for i, line in enumerate(lines):
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths)) + "  " + line[4])
        if i == 0:
            out.append("  ".join("-" * w for w in widths) + "  -----")
    return "\n".join(line.rstrip() for line in out)


def diffs(rows: list[Row]) -> str:
    """The transcripts that differ from the stdlib's, shown in full (empty if all match)."""
    base = rows[0]
    out = []
    for row in rows[1:]:
        if row.transcript is not None and row.transcript != base.transcript:
            out.append(f"--- {base.runner}\n{base.transcript}--- {row.runner}\n{row.transcript}")
        elif row.transcript is None and row.client is not None and row.client != base.client:
            out.append(f"--- {base.runner}\n{base.client}--- {row.runner}\n{row.client}")
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    """Runs the chosen scenarios and prints their tables; exit 1 if a drop-in transcript differs."""
    from udpeco.cli import fail

    if args.scenario != "all" and args.scenario not in SCENARIOS:
        return fail(
            f"unknown scenario {args.scenario!r}; choose one of {', '.join(SCENARIOS)}, all", 2
        )
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    opts = Options(
        duration=args.duration,
        range_size=args.ports,
        messages=args.messages,
        requests=args.requests,
        repeat=args.repeat,
    )
    # SIGTERM stops the scenarios like Ctrl+C does: their `finally` blocks stop every lab
    # server they started (which also die with this process: harness.die_with_parent).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    status = 0
    for name in names:
        try:
            rows = SCENARIOS[name].run(opts)
        except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as e:
            # A program that hangs (TimeoutExpired) or a load whose output is not a figure
            # (ValueError) fails this scenario in one line, not with a traceback.
            print(f"{name}: could not run: {e}", flush=True)
            status = 1
            continue
        print(table(name, rows), flush=True)
        shown = diffs(rows)
        if shown:
            print(shown, flush=True)
        if rows[1].transcript != rows[0].transcript:
            status = 1  # the drop-in must print exactly what the stdlib prints
        print(flush=True)
    return status
