"""``udpeco proxy LISTEN TARGET``: a UDP impairment proxy (loss, delay, jitter, dup, reorder).

Forwards every datagram that reaches LISTEN to TARGET and the replies back to their client
(one upstream socket per client, like a NAT), impairing both directions (or one, with
``--direction``). Needs no root and no netem. The same ``--seed`` and the same datagrams in
the same order give the same decisions. Ctrl+C or SIGTERM stops it within 200 ms; the counters
are printed at exit (on stderr, or as one JSON object on stdout with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from typing import Any

from udpeco import _udpeco
from udpeco.cli import fail, run_until_signal
from udpeco.cli.argtypes import int_in


def probability(text: str) -> float:
    """An argument type: a probability, ``0.1`` or ``10%``."""
    percent = text.endswith("%")
    try:
        value = float(text[:-1] if percent else text) / (100 if percent else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid probability {text!r}: not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"invalid probability {text!r}: must be 0-1 (or 0-100%)")
    return value


def milliseconds(text: str) -> float:
    """An argument type: milliseconds from 0 to the core's limit, returned in seconds."""
    limit_ms = _udpeco.LIMITS["proxy_delay"][1] * 1000
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid time {text!r}: not a number") from None
    if not 0 <= value <= limit_ms:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}: must be 0-{limit_ms:.0f} milliseconds"
        )
    return value / 1000


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the ``proxy`` subcommand."""
    p = subparsers.add_parser(
        "proxy",
        help="UDP impairment proxy: loss, delay, jitter, duplicates, reordering (no root)",
        description="Forward datagrams from LISTEN to TARGET and the replies back, losing, "
        "duplicating, delaying and reordering them. Each option applies to each direction "
        "chosen by --direction (both by default: a round trip meets --loss twice).",
    )
    p.add_argument("listen", metavar="LISTEN", help="[HOST:]PORT to listen on (host 127.0.0.1)")
    p.add_argument(
        "target", metavar="TARGET", help="HOST:PORT (or PORT on 127.0.0.1) to forward to"
    )
    p.add_argument(
        "--loss", type=probability, default=0.0, metavar="P", help="drop P (0.1 or 10%%)"
    )
    p.add_argument("--delay", type=milliseconds, default=0.0, metavar="MS", help="add MS ms")
    p.add_argument(
        "--jitter", type=milliseconds, default=0.0, metavar="MS", help="add 0-MS ms more (uniform)"
    )
    p.add_argument("--dup", type=probability, default=0.0, metavar="P", help="send P twice")
    p.add_argument(
        "--reorder",
        type=probability,
        default=0.0,
        metavar="P",
        help="hold P back until the next datagram of the same client has gone",
    )
    p.add_argument(
        "--seed", type=int_in(0, 2**64 - 1, "seed"), metavar="N", help="seed (default: random)"
    )
    p.add_argument(
        "--direction",
        choices=("both", "up", "down"),
        default="both",
        help="impair clients->target (up), target->clients (down) or both (default)",
    )
    p.add_argument(
        "--queue-bytes",
        type=int_in(*_udpeco.LIMITS["proxy_queue_bytes"], "queue size"),
        default=_udpeco.LIMITS["proxy_default_queue_bytes"],
        metavar="B",
        help="most bytes waiting to be sent; more are dropped (overflow) "
        f"(default {_udpeco.LIMITS['proxy_default_queue_bytes'] >> 20} MiB)",
    )
    p.add_argument(
        "--max-clients",
        type=int_in(*_udpeco.LIMITS["proxy_clients"], "number of clients"),
        default=_udpeco.LIMITS["proxy_default_clients"],
        metavar="N",
        help="most clients at once; datagrams from more are refused "
        f"(default {_udpeco.LIMITS['proxy_default_clients']})",
    )
    p.add_argument("--json", action="store_true", help="print the counters as one JSON object")
    p.set_defaults(func=run, parser=p)


def _settings(args: argparse.Namespace) -> str:
    parts = [
        f"{name} {fmt(value)}"
        for name, value, fmt in (
            ("loss", args.loss, _pct),
            ("dup", args.dup, _pct),
            ("reorder", args.reorder, _pct),
            ("delay", args.delay, _ms),
            ("jitter", args.jitter, _ms),
        )
        if value
    ]
    return ", ".join(parts) or "no impairment"


def _pct(p: float) -> str:
    return f"{p * 100:g}%"


def _ms(s: float) -> str:
    return f"{s * 1000:g} ms"


def _endpoint(addr: tuple[str, int]) -> str:
    host, port = addr
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_stats(stats: dict[str, Any]) -> str:
    """The counters as three lines for a person."""
    names = ("received", "forwarded", "dropped", "duplicated", "reordered", "delayed")
    lines = []
    for way in ("up", "down"):
        d = stats[way]
        counts = "  ".join(f"{name} {d[name]}" for name in names)
        extra = "".join(f"  {name} {d[name]}" for name in ("overflow", "send_errors") if d[name])
        lines.append(f"udpeco proxy: {way:<4} {counts}{extra}")
    lines.append(
        f"udpeco proxy: {stats['clients']} clients, {stats['rejected']} refused, "
        f"seed {stats['seed']}"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Runs ``udpeco proxy`` until Ctrl+C or SIGTERM."""
    parser: argparse.ArgumentParser = args.parser
    try:
        proxy = _udpeco.Proxy(
            args.listen if ":" in args.listen else f"127.0.0.1:{args.listen}",
            args.target,
            loss=args.loss,
            delay=args.delay,
            jitter=args.jitter,
            dup=args.dup,
            reorder=args.reorder,
            seed=args.seed,
            direction=args.direction,
            queue_bytes=args.queue_bytes,
            max_clients=args.max_clients,
        )
    except socket.gaierror as e:
        return fail(str(e.strerror or e))
    except (ValueError, UnicodeError) as e:
        parser.error(str(e))
    except OSError as e:
        return fail(f"cannot listen on {args.listen}: {e.strerror or e}")
    print(
        f"udpeco proxy: {_endpoint(proxy.address)} -> {_endpoint(proxy.target)} "
        f"({_settings(args)}; seed {proxy.seed}; Ctrl+C to stop)",
        file=sys.stderr,
        flush=True,
    )
    try:
        code = run_until_signal(proxy.start, lambda: proxy.running, proxy.close)
    except OSError as e:
        code = fail(f"proxy stopped: {e}")
    stats: dict[str, Any] = {**proxy.stats(), "seed": proxy.seed}
    if args.json:
        stats.update(listen=_endpoint(proxy.address), target=_endpoint(proxy.target))
        print(json.dumps(stats, sort_keys=True), flush=True)
    else:
        print(format_stats(stats), file=sys.stderr, flush=True)
    return code
