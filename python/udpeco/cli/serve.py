"""``udpeco serve``: the práctica's echo servers (v1, v3, exercises 4, 9, 10, finals) in Rust.

Listens on all interfaces, port 44444, echoes every datagram to its sender and prints
``Message[ip:port] - data`` per datagram (unless ``--quiet``), like ``servidor_eco_v1.py``.
Ctrl+C or SIGTERM stops it (the log is flushed); the counters are printed on stderr at exit.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from udpeco.cli import fail
from udpeco.cli.argtypes import int_in, port_range, seconds, seconds_or_zero


class _Terminated(Exception):
    """Raised by the SIGTERM handler so that the server stops like on Ctrl+C."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the ``serve`` subcommand."""
    p = subparsers.add_parser(
        "serve",
        help="run the echo server",
        description=(
            "The práctica's UDP echo server in Rust: echoes every datagram to its sender from "
            "the socket that received it, printing 'Message[ip:port] - data' per datagram."
        ),
    )
    p.add_argument(
        "--port",
        action="append",
        metavar="PORTS",
        help="port(s) to listen on, repeatable: 44444, 8888,9999, 30000-39999 (default 44444)",
    )
    p.add_argument(
        "--bind",
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
        type=int_in(1, 65535, "buffer size"),
        default=1024,
        help="receive buffer: longer datagrams are truncated, as recvfrom(1024) (default 1024)",
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
        help="final exercise 2: write one line per datagram to FILE (UTF-8, \\xNN for other bytes)",
    )
    p.add_argument("--quiet", action="store_true", help="do not print a line per datagram")
    p.add_argument(
        "--workers",
        type=int_in(1, 1024, "number of workers"),
        default=1,
        metavar="N",
        help="N threads sharing the ports with SO_REUSEPORT (default 1)",
    )
    p.set_defaults(func=run, parser=p)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated()


def _print_stats(stats: dict[str, int]) -> None:
    print(
        f"udpeco serve: {stats['datagrams']} datagrams, {stats['bytes']} bytes, "
        f"{stats['clients']} clients, {stats['drops']} drops",
        file=sys.stderr,
        flush=True,
    )


def run(args: argparse.Namespace) -> int:
    """Runs ``udpeco serve``."""
    from udpeco import EchoServer

    parser: argparse.ArgumentParser = args.parser
    if args.reply_stop and args.no_stop:
        parser.error("--reply-stop needs a stop text (not with --no-stop)")
    if args.stop.strip() == "" and not args.no_stop:
        parser.error("--stop needs a non-blank text")
    if args.random_port and args.port:
        parser.error("--random-port and --port cannot be used together")
    if args.log is not None:
        try:
            open(args.log, "w").close()
        except OSError as e:
            return fail(f"cannot write log {args.log}: {e.strerror}")
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
        )
    except (ValueError, OverflowError) as e:
        parser.error(str(e))
    except OSError as e:
        where = args.bind or "*"
        what = f"{args.random_port[0]}-{args.random_port[1]}" if args.random_port else spec
        return fail(f"cannot listen on {where}:{what}: {e}")
    ports = server.ports
    if args.random_port:
        print(f"Listening on port {ports[0]}", flush=True)
    host = f"[{server.host}]" if ":" in server.host else server.host
    shown = ",".join(map(str, ports)) if len(ports) <= 8 else f"{ports[0]}-... ({len(ports)} ports)"
    print(
        f"udpeco serve: echoing on {host}:{shown} (Ctrl+C to stop)",
        file=sys.stderr,
        flush=True,
    )
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    code = 0
    try:
        server.run()
    except KeyboardInterrupt:
        code = 130
    except _Terminated:
        code = 143
    finally:
        signal.signal(signal.SIGTERM, previous)
    _print_stats(server.stats)
    return code
