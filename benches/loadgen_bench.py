#!/usr/bin/env python3
"""Is ``udpeco bench`` as fast a load generator as the C reference ``udpload``?

Runs both, alternately, against the same C echo server ``echo_mmsg`` (pinned with
``taskset -c 0``; each load generator pinned with ``taskset -c 1``), same duration, window
and datagram size, and prints each round, the medians and the ratio udpeco/udpload. The
target is a ratio of at least 0.9 at window 64.

Usage (from the repository root, after ``pip install .`` or ``maturin develop --release``):

    python3 benches/loadgen_bench.py [--rounds 5] [--duration 2] [--windows 64,1] [--size 64]

The C tools are built with ``cc -O2`` from ``../shared/tools`` (or ``$UDPECO_TOOLS``) into a
temporary directory. The machine should be otherwise idle: other processes on either core
make every figure noisy, which is why rounds alternate and the median ratio is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tools_dir() -> Path:
    """Where udpload.c and echo_mmsg.c live."""
    for candidate in (
        os.environ.get("UDPECO_TOOLS"),
        ROOT.parent / "shared" / "tools",
    ):
        if candidate and (Path(candidate) / "udpload.c").exists():
            return Path(candidate)
    sys.exit("loadgen_bench: cannot find udpload.c; set UDPECO_TOOLS to ../shared/tools")


def build(src: Path, out: Path) -> Path:
    """Compiles one C tool."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        sys.exit("loadgen_bench: a C compiler (cc) is needed")
    subprocess.run([cc, "-O2", "-o", str(out), str(src)], check=True)
    return out


def free_port() -> int:
    """A UDP port free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_udpload(exe: Path, port: int, duration: float, window: int, size: int) -> dict:
    """One udpload run on core 1: its rate and percentiles."""
    out = subprocess.run(
        ["taskset", "-c", "1", str(exe), "127.0.0.1", str(port), str(duration), str(window)]
        + [str(size)],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 30,
    ).stdout
    fields = dict(re.findall(r"(\w+)=([\d.]+)", out))
    return {
        "rate": float(fields["rate"]),
        "p50_us": float(fields["rtt_p50_us"]),
        "p99_us": float(fields["rtt_p99_us"]),
        "lost": int(fields["lost_or_late"]),
    }


def run_udpeco(port: int, duration: float, window: int, size: int) -> dict:
    """One ``udpeco bench`` run on core 1 (the command line, as a user runs it)."""
    cmd = [sys.executable, "-m", "udpeco", "bench", "127.0.0.1", str(port)]
    cmd += ["--duration", str(duration), "--window", str(window), "--size", str(size)]
    out = subprocess.run(
        ["taskset", "-c", "1", *cmd, "--json", "--no-progress"],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 30,
    ).stdout
    return json.loads(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=float, default=2.0)
    ap.add_argument("--windows", default="64,1", help="comma-separated windows (64,1)")
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    windows = [int(w) for w in args.windows.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        src = tools_dir()
        udpload = build(src / "udpload.c", Path(tmp) / "udpload")
        echo = build(src / "echo_mmsg.c", Path(tmp) / "echo_mmsg")
        port = free_port()
        server = subprocess.Popen(["taskset", "-c", "0", str(echo), str(port)])
        try:
            time.sleep(0.3)
            print(
                f"loadgen_bench {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
                f"echo_mmsg on core 0, load on core 1, {args.duration:g} s per run, "
                f"{args.size}-byte datagrams, {args.rounds} alternating rounds"
            )
            for window in windows:
                print(f"\nwindow {window}")
                print(f"{'round':>5} {'udpload/s':>11} {'udpeco/s':>11} {'ratio':>6}")
                c_rates, u_rates, ratios, c_p50, u_p50 = [], [], [], [], []
                for i in range(args.rounds):
                    # Alternate who goes first, so a slow spell hurts both alike.
                    if i % 2 == 0:
                        c = run_udpload(udpload, port, args.duration, window, args.size)
                        u = run_udpeco(port, args.duration, window, args.size)
                    else:
                        u = run_udpeco(port, args.duration, window, args.size)
                        c = run_udpload(udpload, port, args.duration, window, args.size)
                    ratio = u["rate"] / c["rate"] if c["rate"] else float("nan")
                    c_rates.append(c["rate"])
                    u_rates.append(u["rate"])
                    ratios.append(ratio)
                    c_p50.append(c["p50_us"])
                    u_p50.append(u["p50_us"])
                    print(f"{i + 1:>5} {c['rate']:>11.0f} {u['rate']:>11.0f} {ratio:>6.2f}")
                print(
                    f"{'median':>5} {statistics.median(c_rates):>11.0f} "
                    f"{statistics.median(u_rates):>11.0f} {statistics.median(ratios):>6.2f}"
                    f"   (ratio min {min(ratios):.2f}, max {max(ratios):.2f}; "
                    f"p50 rtt udpload {statistics.median(c_p50):.1f} us, "
                    f"udpeco {statistics.median(u_p50):.1f} us)"
                )
        finally:
            server.kill()
            server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
