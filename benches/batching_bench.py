#!/usr/bin/env python3
"""Is ``udpeco bench`` as fast a load generator as the C reference ``udpload``, and how far do
UDP GSO/GRO batching take it past the C ceiling?

Side by side in one run, in alternating rounds (each round measures every pair once, in
rotating order, so a slow spell on the shared machine hits every pair alike), every server
pinned with ``taskset -c 0`` and every load generator with ``taskset -c 1``, same duration,
window and datagram size:

====  ==========================================  =========================================
row   pair (load -> server)                       compared with (target)
====  ==========================================  =========================================
C     ``udpload`` -> ``echo_mmsg``                the C pair
P     ``udpeco bench --no-gso`` -> ``echo_mmsg``  C (no target: the server's core is the
                                                  bottleneck with either generator)
CG    ``udpload`` -> ``echo_gso``                 the C generator against the GSO server
PG    ``udpeco bench --no-gso`` -> ``echo_gso``   CG (>= 1.0x: the generator alone, against a
                                                  server with room to spare)
G     ``udpeco bench`` (GSO) -> ``echo_gso``      CG (>= 2x: batching in the generator)
U     ``udpeco bench`` -> ``udpeco serve``        C (>= 1.3x: the udpeco pair, both batching)
S     ``udpload`` -> ``udpeco serve``             CG (>= 1.0x: the server alone, against the
                                                  C server with the same GSO reply path)
====  ==========================================  =========================================

The ratio of each round is taken within the round; the table shows the median ratio, its
range, and the median rates, with two costs that other load on the machine barely moves:
echoes per CPU second of the load generator, and the server's CPU time per echo (its whole
process, from ``/proc/PID/stat``, over the run). The "busy" column is each side's CPU seconds
per second of the run: the side near 1.0 sets the pace. ``echo_mmsg`` costs about 5 µs per echo,
so either generator saturates its core (busy about 1.0) and row P compares two runs of the same
server; ``echo_gso`` costs about 3.7 µs, so against it the generators set the pace, and row PG
compares them. Usage (from the repository root, after
``pip install .`` or ``maturin develop --release``):

    python3 benches/batching_bench.py [--rounds 5] [--duration 1.5] [--window 64] [--size 64]

The C tools (``udpload.c``, ``echo_mmsg.c``, ``echo_gso.c``) are compiled with ``cc -O2``
into a temporary directory from ``../shared/tools`` next to the repository, or from
``$UDPECO_TOOLS``. Without ``../shared``, copy the course's ``shared/tools`` folder (on the
project machine: ``/work/shared/tools``) anywhere and set ``UDPECO_TOOLS`` to it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import echo_bench  # benches/ is sys.path[0] when run as a script

ROOT = Path(__file__).resolve().parents[1]


def tools_dir() -> Path:
    """Where udpload.c, echo_mmsg.c and echo_gso.c live."""
    for candidate in (
        os.environ.get("UDPECO_TOOLS"),
        ROOT.parent / "shared" / "tools",
    ):
        if candidate and (Path(candidate) / "echo_gso.c").exists():
            return Path(candidate)
    sys.exit(
        "batching_bench: cannot find udpload.c, echo_mmsg.c and echo_gso.c; copy the course's "
        "shared/tools folder (/work/shared/tools on the project machine) and set UDPECO_TOOLS "
        "to it"
    )


def build(src: Path, out: Path) -> Path:
    """Compiles one C tool (into a temporary directory: the source folder stays untouched)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        sys.exit("batching_bench: a C compiler (cc) is needed")
    subprocess.run([cc, "-O2", "-o", str(out), str(src)], check=True)
    return out


def free_port() -> int:
    """A UDP port free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int) -> None:
    """Waits until the echo server on ``port`` answers (echo_bench's wait, a longer bound)."""
    try:
        echo_bench.wait_ready(port, timeout=10.0)
    except RuntimeError as e:
        sys.exit(f"batching_bench: {e}")


def children_cpu() -> float:
    """CPU seconds (user + system) used so far by finished child processes."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_udpload(exe: Path, port: int, duration: float, window: int, size: int) -> dict:
    """One udpload run on core 1: its rate, percentiles and CPU time (whole process)."""
    cpu = children_cpu()
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
        "received": int(fields["replies"]),
        "cpu": children_cpu() - cpu,
        "rate": float(fields["rate"]),
        "p50_us": float(fields["rtt_p50_us"]),
        "p99_us": float(fields["rtt_p99_us"]),
        "lost": int(fields["lost_or_late"]),
    }


def run_udpeco(port: int, duration: float, window: int, size: int, gso: bool) -> dict:
    """One ``udpeco bench`` run on core 1 (the command line, as a user runs it)."""
    cmd = [sys.executable, "-m", "udpeco", "bench", "127.0.0.1", str(port)]
    cmd += ["--duration", str(duration), "--window", str(window), "--size", str(size)]
    cmd += [] if gso else ["--no-gso"]
    out = subprocess.run(
        ["taskset", "-c", "1", *cmd, "--json", "--no-progress"],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 30,
    ).stdout
    return json.loads(out)


#: row -> (label, load, server, baseline row, target ratio)
ROWS = {
    "C": ("udpload -> echo_mmsg", "udpload", "echo_mmsg", None, None),
    "P": ("udpeco bench --no-gso -> echo_mmsg", "plain", "echo_mmsg", "C", None),
    "CG": ("udpload -> echo_gso", "udpload", "echo_gso", None, None),
    "PG": ("udpeco bench --no-gso -> echo_gso", "plain", "echo_gso", "CG", 1.0),
    "G": ("udpeco bench (GSO) -> echo_gso", "gso", "echo_gso", "CG", 2.0),
    "U": ("udpeco bench -> udpeco serve", "gso", "udpeco", "C", 1.3),
    "S": ("udpload -> udpeco serve", "udpload", "udpeco", "CG", 1.0),
}


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) used so far by process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=float, default=1.5)
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    if shutil.which("taskset") is None:
        sys.exit("batching_bench: taskset (util-linux) is needed")

    with tempfile.TemporaryDirectory() as tmp:
        src = tools_dir()
        udpload = build(src / "udpload.c", Path(tmp) / "udpload")
        ports = {name: free_port() for name in ("echo_mmsg", "echo_gso", "udpeco")}
        commands = {
            "echo_mmsg": [str(build(src / "echo_mmsg.c", Path(tmp) / "echo_mmsg"))],
            "echo_gso": [str(build(src / "echo_gso.c", Path(tmp) / "echo_gso"))],
            "udpeco": [
                sys.executable,
                "-m",
                "udpeco",
                "serve",
                "--quiet",
                "--bind",
                "127.0.0.1",
                "--rate-limit",
                "off",
            ],
        }
        servers = []
        pids: dict[str, int] = {}
        try:
            for name, cmd in commands.items():
                port = ports[name]
                argv = [*cmd, str(port)] if name != "udpeco" else [*cmd, "--port", str(port)]
                servers.append(
                    subprocess.Popen(
                        ["taskset", "-c", "0", *argv],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
                pids[name] = servers[-1].pid  # taskset execs the server: same process
                wait_ready(port)
            when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            print(
                f"batching_bench {when}: servers on core 0, load on core 1, {args.duration:g} s "
                f"per run, window {args.window}, {args.size}-byte datagrams, {args.rounds} "
                f"rounds (order rotating), load average {os.getloadavg()[0]:.1f}"
            )
            rates: dict[str, list[float]] = {k: [] for k in ROWS}
            p50: dict[str, list[float]] = {k: [] for k in ROWS}
            # Echoes per CPU second of the load generator: a cost that other load on the
            # machine barely moves (udpload: its whole process; udpeco: its load thread in
            # the sending phase, the ``cpu`` key).
            per_cpu: dict[str, list[float]] = {k: [] for k in ROWS}
            # The server's CPU microseconds per echo (its whole process during the run).
            srv_us: dict[str, list[float]] = {k: [] for k in ROWS}
            # How busy each core was (CPU seconds per second of the run): the side near 1.0
            # is the one that sets the pace.
            busy: dict[str, list[tuple[float, float]]] = {k: [] for k in ROWS}
            keys = list(ROWS)
            for i in range(args.rounds):
                order = keys[i % len(keys) :] + keys[: i % len(keys)]
                for key in order:
                    _, load, server, _, _ = ROWS[key]
                    port = ports[server]
                    srv_cpu = process_cpu(pids[server])
                    if load == "udpload":
                        r = run_udpload(udpload, port, args.duration, args.window, args.size)
                    else:
                        r = run_udpeco(port, args.duration, args.window, args.size, load == "gso")
                    rates[key].append(r["rate"])
                    p50[key].append(r["p50_us"])
                    per_cpu[key].append(r["received"] / r["cpu"] if r["cpu"] else float("nan"))
                    srv = process_cpu(pids[server]) - srv_cpu
                    srv_us[key].append(srv * 1e6 / r["received"] if r["received"] else float("nan"))
                    busy[key].append((r["cpu"] / args.duration, srv / args.duration))
                print(
                    f"round {i + 1}: " + "  ".join(f"{k} {rates[k][-1]:,.0f}" for k in keys),
                    file=sys.stderr,
                    flush=True,
                )
            print()
            print(
                "| pair (load -> server) | echoes/s (median) | p50 µs | echoes per CPU s "
                "| server CPU µs per echo | busy load / server | vs | ratio (median, min-max) "
                "| per CPU s ratio | target |"
            )
            print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|")
            for key, (label, _, _, base, target) in ROWS.items():
                med = statistics.median(rates[key])
                lat = statistics.median(p50[key])
                cpu = statistics.median(per_cpu[key])
                us = statistics.median(srv_us[key])
                load_busy = statistics.median(b[0] for b in busy[key])
                srv_busy = statistics.median(b[1] for b in busy[key])
                cells = f"| {key}: {label} | {med:,.0f} | {lat:.1f} | {cpu:,.0f} | {us:.2f} "
                cells += f"| {load_busy:.2f} / {srv_busy:.2f} "
                if base is None:
                    print(cells + "| | | | |")
                    continue
                ratios = [a / b for a, b in zip(rates[key], rates[base]) if b]
                cpu_ratio = cpu / statistics.median(per_cpu[base])
                if target is None:
                    verdict = "(server-bound)"
                elif statistics.median(ratios) >= target:
                    verdict = f">= {target:g}x met"
                else:
                    verdict = f">= {target:g}x NOT met"
                print(
                    cells + f"| {base} | "
                    f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) | "
                    f"{cpu_ratio:.2f}x | {verdict} |"
                )
        finally:
            for p in servers:
                p.kill()
                p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
