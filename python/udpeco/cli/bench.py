"""``udpeco bench HOST PORT``: load an echo server and report echoes/s, loss and round trips.

Closed loop by default (``--window`` datagrams in flight; window 1 is ping-pong latency),
or an open loop at ``--rate`` datagrams per second. While it runs, a progress line is
written to stderr once a second when stderr is a terminal (redrawn in place); ``--progress``
forces it (one line per second, for logs), ``--no-progress`` silences it. ``--json`` prints
the result as one JSON object instead of the table.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from typing import Any, Callable

from udpeco import bench
from udpeco.cli import fail
from udpeco.cli.argtypes import float_in, host_name, int_in, port, seconds


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
        type=int_in(1, 65536, "window"),
        default=64,
        metavar="N",
        help="datagrams in flight in the closed loop (64; 1 = ping-pong)",
    )
    p.add_argument(
        "--size",
        type=int_in(8, 65507, "size"),
        default=64,
        metavar="B",
        help="bytes per datagram, 8-65507 (64)",
    )
    p.add_argument(
        "--rate",
        type=float_in(0, 1e8, "rate"),
        default=None,
        metavar="R",
        help="open loop: send R datagrams/s whatever the replies (default: closed loop)",
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


def _progress_printer(in_place: bool) -> Callable[[dict[str, float]], None]:
    def show(p: dict[str, Any]) -> None:
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


def format_report(r: dict[str, Any], args: argparse.Namespace) -> str:
    """The human-readable result table."""
    mode = (
        f"open loop at {args.rate:g} datagrams/s"
        if args.rate
        else f"closed loop, window {args.window}"
    )
    lost_pct = 100.0 * r["lost"] / r["sent"] if r["sent"] else 0.0
    late = f", {r['late']} late" if r["late"] else ""
    pace = ""
    if args.rate:
        # An open loop shows whether the asked rate was reached (one core may not manage).
        pace = f" ({r['sent'] / r['elapsed']:.0f}/s of {args.rate:g}/s asked)"
    return "\n".join(
        [
            f"udpeco bench {args.host}:{args.port}: {mode}, {args.size}-byte datagrams, "
            f"{r['elapsed']:.2f} s",
            f"echoes/s   {r['rate']:.0f}",
            f"sent       {r['sent']}{pace}",
            f"received   {r['received']}",
            f"lost       {r['lost']} ({lost_pct:.2f}%)" + late,
            f"rtt (us)   p50 {r['p50_us']:.1f}  p90 {r['p90_us']:.1f}  p99 {r['p99_us']:.1f}"
            f"  p99.9 {r['p999_us']:.1f}  (min {r['min_us']:.1f}, max {r['max_us']:.1f},"
            f" mean {r['mean_us']:.1f})",
        ]
    )


def run(args: argparse.Namespace) -> int:
    """Runs the load; returns the exit code."""
    show = sys.stderr.isatty() if args.progress is None else args.progress
    in_place = show and sys.stderr.isatty()
    callback: Callable[[dict[str, float]], None] | None = (
        _progress_printer(in_place) if show else None
    )
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
        )
    except ConnectionRefusedError:
        return fail(f"{where} refused the datagrams: no server is listening on that port")
    except socket.gaierror as e:
        return fail(f"cannot resolve {args.host!r}: {e.strerror or e}")
    except ValueError as e:
        return fail(str(e), 2)
    finally:
        if in_place:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(format_report(result, args))
    return 0
