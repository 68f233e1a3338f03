"""Echo server benchmark: udpeco serve against the C ceiling and the práctica's Python loop.

Runs, side by side in one run and in alternating rounds (so that noise from other work on the
machine hits every server alike), each server pinned to one core (``taskset -c 0``) with the
reference load generator ``udpload`` pinned to the other (``taskset -c 1``):

- ``echo_mmsg``: the C recvmmsg/sendmmsg server (the practical ceiling without GSO);
- ``echo_gso``: the same C server answering runs of equal-size datagrams from one peer with
  one UDP GSO send (the yardstick of ``udpeco serve``, which does the same);
- ``udpeco serve --quiet``;
- ``python_echo_loop.py``: the práctica's v1 loop in pure Python, without the print;
- ``udpeco serve --quiet --workers 2`` (for information: one client hashes to one worker).

Throughput is 64-byte datagrams with 64 in flight; latency is ping-pong (window 1). Prints the
median and the best of the rounds and the ratios of medians. Not a test: run it by hand:

    python benches/echo_bench.py [--rounds 9] [--seconds 1.5] [--tools ../shared/tools]

The C tools are built with ``make`` in a temporary copy of ``--tools`` (default
``../shared/tools`` next to the repository, or ``$UDPECO_TOOLS``), so that folder may be
read-only. Without ``../shared``, copy the course's ``shared/tools`` folder (on the project
machine: ``/work/shared/tools``) anywhere and pass ``--tools`` or set ``UDPECO_TOOLS``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULT = re.compile(r"replies=(\d+) rate=(\d+)/s .*rtt_p50_us=([\d.]+) rtt_p99_us=([\d.]+)")


def free_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def servers(tools: Path) -> dict[str, list[str]]:
    udpeco = [sys.executable, "-m", "udpeco", "serve", "--quiet", "--rate-limit", "off"]
    udpeco += ["--port", "{port}"]
    return {
        "echo_mmsg (C)": [str(tools / "echo_mmsg"), "{port}"],
        "echo_gso (C)": [str(tools / "echo_gso"), "{port}"],
        "udpeco serve --quiet": udpeco,
        "python loop (práctica v1)": [sys.executable, str(HERE / "python_echo_loop.py"), "{port}"],
        "udpeco serve --workers 2": [*udpeco, "--workers", "2"],
    }


def wait_ready(port: int, timeout: float = 5.0) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.05)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            s.sendto(b"ready?", ("127.0.0.1", port))
            try:
                s.recvfrom(64)
                return
            except OSError:
                continue
        raise RuntimeError(f"server on port {port} did not answer")
    finally:
        s.close()


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) used so far by process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(tools: Path, port: int, seconds: float, window: int) -> tuple[float, float, float, int]:
    out = subprocess.run(
        [
            "taskset",
            "-c",
            "1",
            str(tools / "udpload"),
            "127.0.0.1",
            str(port),
            str(seconds),
            str(window),
            "64",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    m = RESULT.search(out)
    if not m:
        raise RuntimeError(f"unexpected udpload output: {out!r}")
    return float(m.group(2)), float(m.group(3)), float(m.group(4)), int(m.group(1))


def measure(cmd: list[str], tools: Path, seconds: float) -> tuple[float, float, float, float]:
    """One round for one server: (echoes/s at window 64, p50 and p99 ping-pong in µs, echoes
    per CPU second of the server at window 64)."""
    port = free_port()
    argv = ["taskset", "-c", "0", *(a.format(port=port) for a in cmd)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port)
        cpu = proc_cpu(proc.pid)
        rate, _, _, echoes = load(tools, port, seconds, 64)
        cpu = proc_cpu(proc.pid) - cpu
        _, p50, p99, _ = load(tools, port, min(seconds, 1.0), 1)
        return rate, p50, p99, echoes / cpu if cpu else float("nan")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--seconds", type=float, default=1.5)
    default_tools = os.environ.get("UDPECO_TOOLS", HERE.parent.parent / "shared" / "tools")
    ap.add_argument("--tools", type=Path, default=Path(default_tools))
    args = ap.parse_args()
    if not (args.tools / "echo_gso.c").exists():
        print(
            f"echo_bench: no echo_gso.c in {args.tools}: copy the course's shared/tools folder "
            "(/work/shared/tools on the project machine) and pass --tools or set UDPECO_TOOLS",
            file=sys.stderr,
        )
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        tools = Path(tmp) / "tools"
        shutil.copytree(args.tools, tools)
        subprocess.run(["make", "-s", "-C", str(tools)], check=True)
        return bench(args, tools)


def bench(args: argparse.Namespace, tools: Path) -> int:
    """Runs the rounds with the C tools built in ``tools`` and prints the table."""
    if shutil.which("taskset") is None:
        print("taskset is needed (util-linux)", file=sys.stderr)
        return 1
    table = servers(tools)
    rates: dict[str, list[float]] = {k: [] for k in table}
    lat: dict[str, list[tuple[float, float]]] = {k: [] for k in table}
    # Echoes per CPU second of the server (/proc/PID/stat, 10 ms ticks): a cost that other
    # load on the machine moves much less than the rate.
    per_cpu: dict[str, list[float]] = {k: [] for k in table}
    names = list(table)
    for r in range(args.rounds):
        # The order rotates, so that no server always runs right after another.
        for name in names[r % len(names) :] + names[: r % len(names)]:
            rate, p50, p99, eff = measure(table[name], tools, args.seconds)
            per_cpu[name].append(eff)
            rates[name].append(rate)
            lat[name].append((p50, p99))
            print(
                f"round {r + 1}: {name:28} {rate:10.0f} echoes/s  p50 {p50:6.1f} µs",
                file=sys.stderr,
                flush=True,
            )
    med = {k: statistics.median(v) for k, v in rates.items()}
    c_name, gso_name, py_name = "echo_mmsg (C)", "echo_gso (C)", "python loop (práctica v1)"

    eff = {k: statistics.median(v) for k, v in per_cpu.items()}

    def paired(name: str, base: str) -> float:
        """Median over rounds of the ratio within each round (noise hits both alike)."""
        return statistics.median(a / b for a, b in zip(rates[name], rates[base]))

    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"\nEcho throughput, 64-byte datagrams, 64 in flight, server on core 0, udpload on "
        f"core 1; {args.rounds} alternating rounds of {args.seconds:g} s, {when}, "
        f"{os.cpu_count()} cores. 'vs' columns: median of the per-round ratios; 'best vs best': "
        f"best round against the C server's best round (the least disturbed by other load).\n"
    )
    print(
        "| server | echoes/s (median) | best round | vs C | vs C GSO | vs Python "
        "| best vs best C | echoes per CPU s (vs C GSO) | ping-pong p50 / p99 µs |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in table:
        p50 = statistics.median(x[0] for x in lat[name])
        p99 = statistics.median(x[1] for x in lat[name])
        print(
            f"| {name} | {med[name]:,.0f} | {max(rates[name]):,.0f} | "
            f"{paired(name, c_name):.2f}x | {paired(name, gso_name):.2f}x | "
            f"{paired(name, py_name):.2f}x | "
            f"{max(rates[name]) / max(rates[c_name]):.2f}x | {eff[name]:,.0f} "
            f"({eff[name] / eff[gso_name]:.2f}x) | {p50:.1f} / {p99:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
