"""``udpeco bench HOST PORT``: load an echo server and report echoes/s, loss and round trips.

Closed loop by default (``--window`` datagrams in flight; window 1 is ping-pong latency),
or an open loop at ``--rate`` datagrams per second (with ``--window``, at most that many in
flight, as wrk2's connections), timed from each datagram's due time. ``--warmup S`` is left
out of the figures; ``--interval S`` prints one line per interval (iperf3's style). While it
runs, a progress line is written to stderr once a second when stderr is a terminal (redrawn
in place); ``--progress`` forces it (one line per second, for logs), ``--no-progress``
silences it. ``--json`` prints the result as one JSON object instead of the table
(docs/bench.md lists every key).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from typing import Callable

from udpeco import BenchInterval, BenchLatency, BenchProgress, BenchReport, bench
from udpeco._udpeco import LIMITS
from udpeco.cli import fail
from udpeco.cli.argtypes import float_in, host_name, int_in, port, seconds, seconds_or_zero


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the ``bench`` subcommand."""
    p = subparsers.add_parser(
        "bench",
        help="load an echo server: echoes/s, loss, round-trip percentiles",
        description="Load a UDP echo server and print echoes per second, loss and round-trip "
        "percentiles (closed loop with --window in flight, or open loop at --rate).",
    )
    p.add_argument("host", type=host_name, help="server name or address")
    p.add_argument("port", type=port, help="server port")
    p.add_argument("--duration", type=seconds, default=3.0, metavar="S", help="seconds (3)")
    p.add_argument(
        "--window",
        type=int_in(*LIMITS["bench_window"], "window"),
        default=None,
        metavar="N",
        help="datagrams in flight in the closed loop (64; 1 = ping-pong); with --rate, "
        "at most N in flight (default: no limit)",
    )
    p.add_argument(
        "--size",
        type=int_in(*LIMITS["bench_size"], "size"),
        default=64,
        metavar="B",
        help="bytes per datagram, {}-{} (64)".format(*LIMITS["bench_size"]),
    )
    p.add_argument(
        "--rate",
        type=float_in(*LIMITS["bench_rate"], "rate"),
        default=None,
        metavar="R",
        help="open loop: send R datagrams/s whatever the replies (default: closed loop)",
    )
    p.add_argument(
        "--warmup",
        type=seconds_or_zero,
        default=0.0,
        metavar="S",
        help="send for S seconds first and leave them out of the figures (0)",
    )
    p.add_argument(
        "--interval",
        type=float_in(*LIMITS["bench_interval"], "interval", allow_low=True),
        default=None,
        metavar="S",
        help=f"print the figures of every S seconds (at least {LIMITS['bench_interval'][0]:g})",
    )
    p.add_argument(
        "--no-gso",
        dest="gso",
        action="store_false",
        help="send one datagram per slot of sendmmsg, never with UDP GSO",
    )
    shown = p.add_mutually_exclusive_group()
    shown.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="always print a progress line per second on stderr",
    )
    shown.add_argument(
        "--no-progress", dest="progress", action="store_false", help="never print progress"
    )
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=run)


def _progress_printer(in_place: bool) -> Callable[[BenchProgress], None]:
    def show(p: BenchProgress) -> None:
        line = (
            f"[{p['elapsed']:5.1f} s] {p['rate']:>10.0f} echoes/s  sent {p['sent']}"
            f"  received {p['received']}  lost {p['lost']}"
        )
        if in_place:
            sys.stderr.write("\r" + line + "\x1b[K")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    return show


def format_interval(i: BenchInterval) -> str:
    """One interval as a line (iperf3's style)."""
    return (
        f"[{i['start']:6.1f}-{i['end']:6.1f} s] {i['rate']:>9.0f}/s  sent {i['sent']}"
        f"  received {i['received']}  lost {i['lost']}  dup {i['duplicates']}"
        f"  ooo {i['out_of_order']}  jitter {i['jitter_us']:.1f}  p50 {i['p50_us']:.1f}"
        f"  p99 {i['p99_us']:.1f}  max {i['max_us']:.1f} us"
    )


class _IntervalPrinter:
    """Prints each interval as it ends; the last one (which ends with the run) afterwards."""

    def __init__(self) -> None:
        self.printed = 0

    def __call__(self, p: BenchProgress) -> None:
        print(format_interval(p["interval"]), flush=True)
        self.printed += 1

    def rest(self, result: BenchReport) -> None:
        for i in result["intervals"][self.printed :]:
            print(format_interval(i))


def _percentiles(r: BenchLatency) -> str:
    return (
        f"p50 {r['p50_us']:.1f}  p90 {r['p90_us']:.1f}  p99 {r['p99_us']:.1f}"
        f"  p99.9 {r['p999_us']:.1f}  p99.99 {r['p9999_us']:.1f}  max {r['max_us']:.1f}"
        f"  (min {r['min_us']:.1f}, mean {r['mean_us']:.1f})"
    )


def format_report(r: BenchReport, args: argparse.Namespace) -> str:
    """The human-readable result table."""
    if args.rate:
        cap = f", at most {args.window} in flight" if args.window else ""
        mode = f"open loop at {args.rate:g} datagrams/s{cap}"
    else:
        mode = f"closed loop, window {args.window or 64}"
    lost_pct = 100.0 * r["lost"] / r["sent"] if r["sent"] else 0.0
    late = f", {r['late']} late" if r["late"] else ""
    pace = ""
    if args.rate:
        # An open loop shows whether the asked rate was reached (one core may not manage).
        pace = f" ({r['sent'] / r['elapsed']:.0f}/s of {args.rate:g}/s asked)"
    warm = f" after a {r['warmup']:g} s warm-up" if r["warmup"] else ""
    lines = [
        f"udpeco bench {args.host}:{args.port}: {mode}, {args.size}-byte datagrams, "
        f"{r['elapsed']:.2f} s{warm}" + (", GSO" if r["gso"] else ""),
        f"echoes/s   {r['rate']:.0f}",
        f"sent       {r['sent']}{pace}",
        f"received   {r['received']}",
        f"lost       {r['lost']} ({lost_pct:.2f}%)" + late,
        f"duplicates {r['duplicates']}  out of order {r['out_of_order']}",
        f"jitter     {r['jitter_us']:.1f} us",
        f"rtt (us)   {_percentiles(r)}",
    ]
    if args.rate:
        lines.append(f"from send  {_percentiles(r['uncorrected'])}  (uncorrected)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Runs the load; returns the exit code."""
    show = sys.stderr.isatty() if args.progress is None else args.progress
    in_place = show and sys.stderr.isatty()
    callback: Callable[[BenchProgress], None] | None = _progress_printer(in_place) if show else None
    intervals = _IntervalPrinter() if args.interval and not args.json else None
    if intervals is not None:
        # The interval lines (stdout) replace the progress line.
        in_place = False
        callback = intervals
    where = f"{args.host}:{args.port}"
    try:
        result = bench(
            args.host,
            args.port,
            duration=args.duration,
            window=args.window,
            size=args.size,
            rate=args.rate,
            progress=callback,
            warmup=args.warmup,
            interval=args.interval,
            gso=args.gso,
        )
    except ConnectionRefusedError:
        return fail(f"{where} refused the datagrams: no server is listening on that port")
    except socket.gaierror as e:
        return fail(str(e.strerror or e))
    except ValueError as e:
        return fail(str(e), 2)
    finally:
        if in_place:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
    if intervals is not None:
        intervals.rest(result)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(format_report(result, args))
    return 0
