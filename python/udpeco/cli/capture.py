"""``udpeco capture``: a small wireshark for UDP, one decoded line per datagram.

Each line shows the time, the interface, the direction, the IP source and destination with
the UDP ports, the UDP length field, the checksum (verified) and the payload, escaped so that
nothing a sender controls reaches the terminal raw. ``--json`` prints JSON Lines instead
(docs/json.md): one object per datagram (the keys of ``udpeco.CapturedDatagram`` without
``data``), then ``{"summary": {"datagrams": N}}``. Once the capture is armed, a line
``udpeco: capturing on ...`` goes to stderr: datagrams sent after it are seen. At the end a
summary line goes to stderr too, so stdout holds only datagrams (and, with ``--json``, the
summary object).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from udpeco import _udpeco
from udpeco.cli import fail
from udpeco.cli.argtypes import int_in, port, seconds

#: What a user without the privilege is told (one line).
NO_PRIVILEGE = (
    "capture needs CAP_NET_RAW: run it as root, or give the capability "
    "(sudo setcap cap_net_raw+ep $(readlink -f $(which python3)))"
)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the ``capture`` subcommand."""
    p = subparsers.add_parser(
        "capture",
        help="show every UDP datagram an interface sees, header decoded (needs CAP_NET_RAW)",
        description=(
            "Capture UDP datagrams (IPv4 and IPv6) with a packet socket and print one decoded "
            "line per datagram: addresses, ports, the UDP length field, the checksum and the "
            "payload. Stops after --count datagrams, after --timeout seconds, or on Ctrl+C."
        ),
    )
    p.add_argument(
        "--iface", metavar="IF", default=None, help="interface, e.g. lo (default: all of them)"
    )
    p.add_argument(
        "--port", type=port, default=None, metavar="P", help="only datagrams from or to port P"
    )
    p.add_argument(
        "--count",
        type=int_in(*_udpeco.LIMITS["capture_count"], "count"),
        default=None,
        metavar="N",
        help="stop after N datagrams",
    )
    p.add_argument(
        "--timeout", type=seconds, default=None, metavar="S", help="stop after S seconds"
    )
    p.add_argument(
        "--json", action="store_true", help="JSON Lines: one object per datagram, then a summary"
    )
    p.set_defaults(func=run)


def endpoint(addr: str, port_number: int) -> str:
    """``addr:port``, with an IPv6 address in brackets."""
    return f"[{addr}]:{port_number}" if ":" in addr else f"{addr}:{port_number}"


def line(d: dict[str, Any]) -> str:
    """One datagram as a line of text."""
    stamp = time.strftime("%H:%M:%S", time.localtime(d["time"]))
    micros = int(d["time"] % 1 * 1_000_000)
    status = d["checksum_status"] + (", first fragment" if d["fragment"] else "")
    return (
        f"{stamp}.{micros:06d} {d['iface']} {d['direction']} "
        f"{endpoint(d['src'], d['sport'])} > {endpoint(d['dst'], d['dport'])} "
        f"length {d['length']} checksum 0x{d['checksum']:04x} ({status}) "
        f"payload {d['payload_len']} bytes: {d['payload']}"
    )


def as_json(d: dict[str, Any]) -> str:
    """One datagram as one line of JSON (every key but the raw bytes)."""
    return json.dumps({k: v for k, v in d.items() if k != "data"}, ensure_ascii=False)


def run(args: argparse.Namespace) -> int:
    """Captures and prints until the count, the timeout or Ctrl+C."""
    try:
        cap = _udpeco.Capture(args.iface, args.port)
    except PermissionError:
        return fail(NO_PRIVILEGE)
    except ValueError as e:
        return fail(str(e), 2)
    where = args.iface or "every interface"
    which = f"port {args.port}" if args.port else "every port"
    show = as_json if args.json else line
    seen = 0
    code = 0
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    try:
        with cap:
            # Inside the `try`: a Ctrl+C right after this line still ends with the summary.
            print(f"udpeco: capturing UDP on {where}, {which}", file=sys.stderr, flush=True)
            while args.count is None or seen < args.count:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                d = cap.recv(left)
                if d is None:
                    break
                print(show(dict(d)), flush=True)
                seen += 1
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep the interpreter's final
        # flush of stdout from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    print(f"udpeco: {seen} datagram{'s' if seen != 1 else ''} captured", file=sys.stderr)
    if args.json:
        print(json.dumps({"summary": {"datagrams": seen}}), flush=True)
    return code
