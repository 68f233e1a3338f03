"""``udpeco client HOST PORT``: the práctica's echo client (cliente_eco) with a reply timeout.

Reads lines, sends each one as a datagram and prints ``Server reply : ...``, like
cliente_eco_v1. On a terminal it prompts ``Enter message to send : ``; from a pipe or file it
prints no prompt (only the replies), so its output can be compared or parsed. It ends with
exit code 0 at end of input (Ctrl+D) or when the server replies ``.`` (exercise 4), and with
exit code 1 and a one-line message when the server does not answer within ``--timeout``
seconds on any of the ``--retries`` + 1 tries (cliente_eco_v3_10).

``--json`` prints JSON Lines instead (docs/json.md): one object per line sent (``payload``,
``reply``, ``rtt``, ``error``) and a last ``{"summary": {...}}`` object with the counts.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from collections.abc import Iterator
from typing import Any

from udpeco import Client, escape
from udpeco._udpeco import LIMITS
from udpeco.cli import fail
from udpeco.cli.argtypes import host_name, int_in, port, seconds

#: The prompt of cliente_eco.
PROMPT = "Enter message to send : "


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the ``client`` subcommand."""
    p = subparsers.add_parser(
        "client",
        help="interactive echo client with a reply timeout (like cliente_eco)",
        description="Send each line typed (or piped) to an echo server and print its reply. "
        "Exits 1 when the server does not answer in time.",
    )
    p.add_argument("host", type=host_name, help="server name or address")
    p.add_argument("port", type=port, help="server port")
    p.add_argument(
        "--timeout",
        type=seconds,
        default=5.0,
        metavar="X",
        help="seconds to wait for each reply (default: 5.0, as cliente_eco v3)",
    )
    p.add_argument(
        "--retries",
        type=int_in(*LIMITS["client_retries"], "number of retries"),
        default=0,
        metavar="N",
        help="resend a line up to N more times when no reply comes (default: 0)",
    )
    p.add_argument(
        "--bufsize",
        type=int_in(*LIMITS["bufsize"], "buffer size"),
        default=1024,  # the práctica's recvfrom(1024), not a bound
        metavar="B",
        help="longest reply kept, longer ones are truncated (default: 1024, as recvfrom(1024))",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="JSON Lines: one object per line sent, then a summary object (docs/json.md)",
    )
    p.set_defaults(func=run)


def _lines(interactive: bool) -> Iterator[bytes]:
    """The lines to send, without their line ending, until end of input."""
    if interactive:
        while True:
            try:
                line = input(PROMPT)
            except EOFError:
                print()
                return
            yield line.encode("utf-8", "surrogateescape")
    else:
        for raw in sys.stdin.buffer:
            yield raw.rstrip(b"\r\n")


class _JsonReport:
    """``--json``'s lines: one object per request as it ends, and the summary at the end."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.counts = {"requests": 0, "replies": 0, "timeouts": 0, "errors": 0}

    def request(
        self, payload: bytes, reply: bytes | None, rtt: float | None, error: str | None
    ) -> None:
        self.counts["requests"] += 1
        if reply is not None:
            self.counts["replies"] += 1
        elif error == "timeout":
            self.counts["timeouts"] += 1
        else:
            self.counts["errors"] += 1
        line = {
            "payload": escape(payload),
            "reply": None if reply is None else escape(reply),
            "rtt": rtt,
            "error": error,
        }
        print(json.dumps(line, ensure_ascii=False), flush=True)

    def summary(self, stale: int) -> None:
        total: dict[str, Any] = {"server": self.where, **self.counts, "stale": stale}
        print(json.dumps({"summary": total}, ensure_ascii=False), flush=True)


def run(args: argparse.Namespace) -> int:
    """Runs the client loop; returns the exit code."""
    where = f"{args.host}:{args.port}"
    try:
        client = Client(
            args.host, args.port, timeout=args.timeout, retries=args.retries, bufsize=args.bufsize
        )
    except socket.gaierror as e:
        return fail(str(e.strerror or e))
    except ValueError as e:
        return fail(str(e), 2)
    report = _JsonReport(where) if args.json else None
    code = 0
    with client:
        try:
            code = _loop(client, args, where, report)
        except KeyboardInterrupt:
            code = 130
        if report is not None:
            report.summary(client.stale)
    return code


def _loop(client: Client, args: argparse.Namespace, where: str, report: _JsonReport | None) -> int:
    """Sends each line and shows its reply; returns the exit code."""
    for line in _lines(sys.stdin.isatty() and report is None):
        start = time.perf_counter()
        try:
            reply = client.request(line)
        except socket.timeout:
            tries = args.retries + 1
            how = f" ({tries} tries)" if tries > 1 else ""
            if report is not None:
                report.request(line, None, None, "timeout")
            return fail(f"no reply from {where} within {args.timeout:g} s{how}")
        except ConnectionRefusedError:
            if report is not None:
                report.request(line, None, None, "refused")
            return fail(f"{where} refused the datagram: no server is listening on that port")
        if report is not None:
            report.request(line, reply, time.perf_counter() - start, None)
        else:
            print("Server reply : " + escape(reply), flush=True)
        if reply.strip() == b".":
            break
    return 0
