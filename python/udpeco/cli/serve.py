"""``udpeco serve [PORT...]``: the práctica's echo servers (v1, v3, exercises 4, 9, 10, finals)
in Rust.

Listens on all interfaces, port 44444, echoes every datagram to its sender and prints
``Message[ip:port] - data`` per datagram (unless ``--quiet``), like ``servidor_eco_v1.py``.
Ctrl+C or SIGTERM stops it (the log is flushed); the counters are printed on stderr at exit,
and with ``--json`` as one JSON object on stdout (or ``--json-file``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys

from udpeco._udpeco import LIMITS, parse_port_spec
from udpeco.cli import fail, run_until_signal
from udpeco.cli.argtypes import host_name, int_in, port_range, seconds, seconds_or_zero


def _port_spec(text: str) -> str:
    """``--port``: checked by the core's parser (the same rules as EchoServer's ``ports``)."""
    try:
        parse_port_spec(text, True)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _rate(text: str) -> float:
    """``--rate-limit N`` or ``N/s``; ``0`` or ``off`` turns it off."""
    t = text.strip().lower().removesuffix("/s")
    if t in ("off", "0"):
        return 0.0
    low, high = LIMITS["echo_rate"]
    try:
        value = float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate (N or N/s, or off)") from None
    if not low < value <= high:
        raise argparse.ArgumentTypeError(
            f"{text!r} is out of range: must be more than {low:g} and at most {high:g} "
            "datagrams/s (or off)"
        )
    return value


def _burst(text: str) -> float:
    low, high = LIMITS["echo_burst"]
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range: must be {low:g}-{high:g}")
    return value


def _bytes(text: str) -> int:
    """``--delay-queue``: bytes, with an optional K, M or G (powers of 1024)."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    low, high = LIMITS["delay_queue"]
    try:
        value = int(float(t[:-1] if scale > 1 else t) * scale)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 64M)") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(
            f"{text!r} is out of range: must be {low >> 10}K-{high >> 30}G"
        )
    return value


EPILOG = """\
examples:
  udpeco serve                      servidor_eco_v1: port 44444, stops on a '.' datagram
  udpeco serve 8888 9999            servidor_eco_v3: two ports, each reply from its port
  udpeco serve 44444 --reply-stop   exercise 4: answers '.' before stopping
  udpeco serve --idle-timeout 5     exercise 9: ends after 5 s without datagrams
  udpeco serve 8888 --delay 3       exercise 10: each reply 3 s late, other clients not blocked
  udpeco serve --random-port 30000-30100 --quiet    final exercise 1
  udpeco serve 44444 --log mensajes.txt --quiet      final exercise 2
  udpeco serve 44444 --quiet --json                  the counters as JSON at exit

how to stop:
  Ctrl+C (or SIGTERM); a datagram that is '.' after stripping whitespace (--stop TEXT to
  change it, --no-stop to turn it off); --idle-timeout S after S seconds without datagrams.
  The counters are printed on stderr either way (exit code 0, or 128+signal).

--json prints, at exit, one JSON object on stdout's last line (use --quiet to have it
alone there) or writes it to --json-file FILE: {"ports": [...], "host": "...",
"datagrams": N, "bytes": N, "clients": N, "drops": N, <guard reasons>, "unprinted": N,
"log_error": null or "...", "exit_code": N}; see docs/echo.md.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the ``serve`` subcommand."""
    p = subparsers.add_parser(
        "serve",
        help="run the echo server",
        description=(
            "The práctica's UDP echo server in Rust: echoes every datagram to its sender from "
            "the socket that received it, printing 'Message[ip:port] - data' per datagram."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "ports",
        nargs="*",
        type=_port_spec,
        metavar="PORT",
        help="port(s) to listen on, as the lab servers take them: 44444, 8888 9999, "
        "30000-39999 (default 44444)",
    )
    p.add_argument(
        "--port",
        action="append",
        type=_port_spec,
        metavar="PORTS",
        help="the same as PORT, repeatable: 44444, 8888,9999, 30000-39999",
    )
    p.add_argument(
        "--bind",
        type=host_name,
        default="",
        metavar="HOST",
        help="address to bind: '' (default: all IPv4 interfaces), '::' (all IPv6), 127.0.0.1...",
    )
    p.add_argument(
        "--random-port",
        type=port_range,
        metavar="FIRST-LAST",
        help="final exercise 1: listen on a random port in this range and print it",
    )
    p.add_argument(
        "--bufsize",
        type=int_in(LIMITS["bufsize"][0], LIMITS["bufsize"][1], "buffer size"),
        metavar="N",
        help="receive buffer: longer datagrams are truncated, as recvfrom(1024) "
        "(default 1024; 65535 with --log, so that the log keeps whole datagrams)",
    )
    stop = p.add_mutually_exclusive_group()
    stop.add_argument(
        "--stop",
        default=".",
        metavar="TEXT",
        help="stop when a datagram is TEXT after stripping whitespace (default '.')",
    )
    stop.add_argument("--no-stop", action="store_true", help="never stop on a datagram")
    p.add_argument(
        "--reply-stop",
        action="store_true",
        help="exercise 4: answer the stop text to its sender before stopping",
    )
    p.add_argument(
        "--delay",
        type=seconds_or_zero,
        default=0.0,
        metavar="S",
        help="exercise 10: send each reply S seconds after its datagram arrived",
    )
    p.add_argument(
        "--idle-timeout",
        type=seconds,
        metavar="S",
        help="exercise 9: stop after S seconds without any datagram",
    )
    p.add_argument(
        "--silence",
        type=seconds,
        metavar="S",
        help="v3: print 'Han pasado S seg sin recibir nada...' after each S s of silence",
    )
    p.add_argument(
        "--log",
        metavar="FILE",
        help="final exercise 2: append one line per datagram to FILE (escaped: docs/echo.md)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="empty an existing --log file first (default: append to it)",
    )
    p.add_argument(
        "--delay-queue",
        type=_bytes,
        metavar="BYTES",
        help=f"most bytes of replies waiting for --delay (default "
        f"{LIMITS['default_delay_queue'] >> 20}M); beyond it datagrams are dropped (drops)",
    )
    guard = p.add_argument_group("guard (on by default; see docs/echo.md)")
    guard.add_argument(
        "--no-guard",
        action="store_true",
        help="answer datagrams from the server's own ports, port 0 and reflector ports "
        f"({LIMITS['reflector_ports']}), and turn off the default rate limit",
    )
    guard.add_argument(
        "--rate-limit",
        type=_rate,
        metavar="N/s",
        help=f"datagrams a second from one source address (default "
        f"{LIMITS['default_echo_rate']:g}/s; 0 or off: no limit)",
    )
    guard.add_argument(
        "--burst",
        type=_burst,
        metavar="N",
        help=f"datagrams one source may send at once (default {LIMITS['default_echo_burst']:g})",
    )
    guard.add_argument(
        "--allow",
        action="append",
        metavar="LIST",
        help="answer only these addresses/networks: 10.0.0.0/8,192.168.1.5 (repeatable)",
    )
    guard.add_argument(
        "--deny", action="append", metavar="LIST", help="never answer these addresses/networks"
    )
    guard.add_argument("--allowfile", metavar="FILE", help="--allow entries, one per line")
    guard.add_argument("--denyfile", metavar="FILE", help="--deny entries, one per line")
    p.add_argument("--quiet", action="store_true", help="do not print a line per datagram")
    p.add_argument(
        "--json",
        action="store_true",
        help="at exit, print the counters as one JSON object on stdout (see below)",
    )
    p.add_argument(
        "--json-file",
        metavar="FILE",
        help="at exit, write the counters' JSON object to FILE (replaced) instead",
    )
    p.add_argument(
        "--workers",
        type=int_in(LIMITS["workers"][0], LIMITS["workers"][1], "number of workers"),
        default=1,
        metavar="N",
        help="N threads sharing the ports with SO_REUSEPORT (default 1)",
    )
    p.set_defaults(func=run, parser=p)


def _print_stats(server: object) -> None:
    stats: dict[str, int] = server.stats  # type: ignore[attr-defined]
    line = (
        f"udpeco serve: {stats['datagrams']} datagrams, {stats['bytes']} bytes, "
        f"{stats['clients']} clients, {stats['drops']} drops"
    )
    reasons = [
        f"{k} {stats[k]}"
        for k in ("self", "port0", "reflector_port", "denied", "not_allowed", "rate_limited")
        + ("table_full",)
        if stats.get(k)
    ]
    if reasons:
        line += (
            f"; guard dropped {sum(stats[k.split()[0]] for k in reasons)} ({', '.join(reasons)})"
        )
    if stats.get("unprinted"):
        line += f"; {stats['unprinted']} lines not printed (stdout too slow)"
    print(line, file=sys.stderr, flush=True)


def _report(server: object, code: int) -> dict[str, object]:
    """The object ``--json`` prints: where it listened, the counters, the log error, the exit
    code."""
    report: dict[str, object] = {
        "ports": list(server.ports),  # type: ignore[attr-defined]
        "host": server.host,  # type: ignore[attr-defined]
    }
    report.update(server.stats)  # type: ignore[attr-defined]
    report["log_error"] = server.log_error  # type: ignore[attr-defined]
    report["exit_code"] = code
    return report


def _write_json(report: dict[str, object], path: str | None) -> int:
    """Prints the report on stdout (``path`` None) or writes it to ``path``; 0, or 1 if the
    file cannot be written."""
    text = json.dumps(report, sort_keys=True)
    if path is None:
        print(text, flush=True)
        return 0
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    except OSError as e:
        return fail(f"cannot write --json-file {path}: {e.strerror or e}")
    return 0


def _read_list(path: str | None, flag: str) -> list[str]:
    if path is None:
        return []
    try:
        with open(path, encoding="utf-8") as f:
            return [f.read()]
    except (OSError, UnicodeDecodeError) as e:
        raise SystemExit(fail(f"{flag} {path}: {getattr(e, 'strerror', None) or e}", 2)) from None


def run(args: argparse.Namespace) -> int:
    """Runs ``udpeco serve``."""
    from udpeco import EchoServer

    parser: argparse.ArgumentParser = args.parser
    if args.reply_stop and args.no_stop:
        parser.error("--reply-stop needs a stop text (not with --no-stop)")
    if args.stop.strip() == "" and not args.no_stop:
        parser.error("--stop needs a non-blank text")
    if args.random_port and (args.port or args.ports):
        parser.error("--random-port and a PORT cannot be used together")
    if args.overwrite and args.log is None:
        parser.error("--overwrite needs --log")
    if args.ports and args.port:
        parser.error("give the ports as PORT or as --port, not both")
    args.port = args.port or args.ports
    if args.json_file is not None:
        folder = os.path.dirname(os.path.abspath(args.json_file))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            parser.error(f"argument --json-file: cannot write in {folder}")
    allow = (args.allow or []) + _read_list(args.allowfile, "--allowfile")
    deny = (args.deny or []) + _read_list(args.denyfile, "--denyfile")
    spec = ",".join(args.port) if args.port else "44444"
    try:
        server = EchoServer(
            ports=None if args.random_port else spec,
            host=args.bind,
            bufsize=args.bufsize,
            stop=None if args.no_stop else args.stop.strip().encode(),
            reply_stop=args.reply_stop,
            delay=args.delay,
            idle_timeout=args.idle_timeout,
            log=args.log,
            quiet=args.quiet,
            workers=args.workers,
            silence=args.silence,
            random_port=args.random_port,
            guard=not args.no_guard,
            rate_limit=args.rate_limit,
            burst=args.burst,
            allow=allow,
            deny=deny,
            delay_queue=args.delay_queue,
            overwrite=args.overwrite,
        )
    except (ValueError, OverflowError) as e:
        flag = "--allow/--deny" if "address" in str(e) else "--rate-limit/--burst"
        parser.error(f"argument {flag}: {e}")
    except socket.gaierror as e:  # the engines' one message (docs/hosts.md)
        return fail(str(e.strerror or e))
    except OSError as e:
        if e.filename is not None:
            return fail(f"cannot write log {args.log}: {e.strerror}")
        where = args.bind or "*"
        what = f"{args.random_port[0]}-{args.random_port[1]}" if args.random_port else spec
        return fail(f"cannot listen on {where}:{what}: {e}")
    ports = server.ports
    banner = [(f"Listening on port {ports[0]}", False)] if args.random_port else []
    host = f"[{server.host}]" if ":" in server.host else server.host
    shown = ",".join(map(str, ports)) if len(ports) <= 8 else f"{ports[0]}-... ({len(ports)} ports)"
    banner.append((f"udpeco serve: echoing on {host}:{shown} (Ctrl+C to stop)", True))
    json_to = args.json_file if args.json_file is not None else ("-" if args.json else None)
    return _serve(server, args.log, banner, json_to)


def _serve(
    server: object, log: str | None, banner: list[tuple[str, bool]], json_to: str | None = None
) -> int:
    """Prints the banner lines (text, to stderr?) and serves until the server ends by itself
    or the first SIGINT/SIGTERM (blocked before the banner tells that the server is up, see
    :func:`run_until_signal`), then prints the counters."""

    def start() -> None:
        for text, to_stderr in banner:
            print(text, file=sys.stderr if to_stderr else sys.stdout, flush=True)
        server.start()  # type: ignore[attr-defined]

    code = run_until_signal(
        start,
        lambda: bool(server.running),  # type: ignore[attr-defined]
        server.stop,  # type: ignore[attr-defined]
    )
    _print_stats(server)
    error = server.log_error  # type: ignore[attr-defined]
    if error:
        fail(f"cannot write log {log}: {error} (the lines lost are counted in drops)")
        code = code or 1
    if json_to is not None:
        written = _write_json(_report(server, code), None if json_to == "-" else json_to)
        code = code or written
    return code
