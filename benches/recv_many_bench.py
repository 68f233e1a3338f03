#!/usr/bin/env python3
"""Datagrams per second a Python receiver moves: udpeco's recv_many against a stdlib recvfrom
loop, side by side in one run.

One sender, the same for every receiver, runs in its own process pinned to the other core
(``taskset -c 1``): a Python loop of udpeco ``send_many`` calls of 1,024 equal 64-byte
datagrams to the receiver (one ``sendmmsg`` of GSO sends), faster than any receiver here
drains. The receiver runs in this process, pinned to ``--cpu`` (0), with a 16 MiB receive
buffer, and counts the datagrams its loop returns to Python during ``--seconds``:

  stdlib-recvfrom   while ...: data, addr = s.recvfrom(2048)           (stdlib socket)
  recv_many         while ...: batch = recv_many(s, 1024, 2048)       (UDP_GRO off: recvmmsg)
  recv_many+gro     the same with UDP_GRO on: the kernel hands over coalesced buffers and
                    recv_many splits them into the sender's datagrams

Every receiver gets every datagram as its own ``(bytes, address)`` pair. Rounds alternate
the order of the receivers; the figure is the median over rounds, and the ratio is against
the stdlib loop of the same round (target for recv_many with GRO: >= 5x).

Usage:  python benches/recv_many_bench.py [--rounds 3] [--seconds 2] [--cpu 0] [--size 64]
Run it with a release build (``maturin develop --release``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from typing import Callable

import udpeco
from udpeco import _udpeco

SENDER = """
import socket, sys
from udpeco import _udpeco
dest = ("127.0.0.1", int(sys.argv[1]))
items = [(bytes(int(sys.argv[2])), dest)] * 1024
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("ready", flush=True)
while True:
    _udpeco.sock_send_many(s, items)
"""


def stdlib_loop(s: socket.socket, until: float) -> int:
    n = 0
    recvfrom = s.recvfrom
    while True:
        for _ in range(256):
            recvfrom(2048)
        n += 256
        if time.monotonic() >= until:
            return n


def recv_many_loop(s: socket.socket, until: float) -> int:
    n = 0
    recv_many = _udpeco.sock_recv_many
    while time.monotonic() < until:
        n += len(recv_many(s, 1024, 2048))
    return n


def measure(
    loop: Callable[[socket.socket, float], int], gro: bool, seconds: float, size: int
) -> tuple[float, float]:
    """Datagrams per second ``loop`` receives from a fresh pinned sender: per wall-clock
    second, and per second of the receiving thread's CPU time (user + kernel), which other
    processes' load on the shared core does not change."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rx.bind(("127.0.0.1", 0))
        try:
            rx.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE (root)
        except OSError:
            rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        if gro:
            rx.setsockopt(udpeco.SOL_UDP, udpeco.UDP_GRO, 1)
        rx.settimeout(2.0)
        port = str(rx.getsockname()[1])
        sender = subprocess.Popen(
            ["taskset", "-c", "1", sys.executable, "-c", SENDER, port, str(size)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert sender.stdout is not None
            assert sender.stdout.readline().strip() == "ready"
            rx.recvfrom(2048)  # the sender is running
            loop(rx, time.monotonic() + 0.2)  # warm up: the queue is full from here on
            start, cpu = time.monotonic(), time.thread_time()
            n = loop(rx, start + seconds)
            return n / (time.monotonic() - start), n / (time.thread_time() - cpu)
        finally:
            sender.kill()
            sender.wait()
            if sender.stdout is not None:
                sender.stdout.close()
    finally:
        rx.close()


RECEIVERS: dict[str, tuple[Callable[[socket.socket, float], int], bool]] = {
    "stdlib-recvfrom": (stdlib_loop, False),
    "recv_many": (recv_many_loop, False),
    "recv_many+gro": (recv_many_loop, True),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    if shutil.which("taskset") is None:
        print("taskset is needed (util-linux)", file=sys.stderr)
        return 1
    os.sched_setaffinity(0, {args.cpu})
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in RECEIVERS}
    ratios: dict[str, list[tuple[float, float]]] = {name: [] for name in RECEIVERS}
    for r in range(args.rounds):
        names = list(RECEIVERS) if r % 2 == 0 else list(reversed(RECEIVERS))
        got = {}
        for name in names:
            loop, gro = RECEIVERS[name]
            got[name] = measure(loop, gro, args.seconds, args.size)
        base = got["stdlib-recvfrom"]
        for name, (wall, cpu) in got.items():
            rates[name].append((wall, cpu))
            ratios[name].append((wall / base[0], cpu / base[1]))
        print(
            f"round {r + 1}: "
            + ", ".join(
                f"{n} {w / 1e6:.2f} M/s ({c / 1e6:.2f} M/cpu-s)" for n, (w, c) in got.items()
            ),
            flush=True,
        )
    print(
        f"{'receiver':<16}{'datagrams/s':>13}{'x stdlib':>9}{'range':>12}"
        f"{'per cpu-s':>13}{'x stdlib':>9}{'range':>12}"
    )
    for name in RECEIVERS:
        cols = ""
        for k in (0, 1):
            rs = [x[k] for x in ratios[name]]
            cols += (
                f"{statistics.median(x[k] for x in rates[name]):>13,.0f}"
                f"{statistics.median(rs):>9.2f}{f'{min(rs):.2f}-{max(rs):.2f}':>12}"
            )
        print(f"{name:<16}{cols}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
