"""Scanner benchmark: udpeco.scan vs `nmap -sU` vs the práctica's stdlib sequential scan.

Runs side by side, in one run, on loopback, with one echo server (a separate process pinned
to core 0 with taskset when available) on a random port of 20000-20100. The scanners run
unpinned, as a user runs them (udpeco splits a large scan over two cores, nmap uses one);
``--pin-core N`` confines them (and their children) to core N instead:

- 20000-20100: udpeco.scan, nmap -sU, and the stdlib sequential scan as the práctica writes
  it (one port at a time, ``settimeout(0.5)``, every port of the range: about 50 s, since a
  plain socket never sees the ICMP errors and waits out each closed port);
- 1-65535: udpeco.scan and nmap -sU only (the sequential scan would take nine hours);
- 1-65535, whole process against whole process: the ``udpeco scan`` command (Python start-up,
  imports and output included) against the ``nmap`` command.

Prints the median time of each, the open ports found in the median run, and how often
udpeco and nmap (run back to back) found the same open ports. Not a test:
``python benches/scan_bench.py [--repeat N] [--skip-stdlib]``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time

import udpeco

ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)
"""


def pinned(core: int, args: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *args] if shutil.which("taskset") else args


def start_echo() -> tuple[subprocess.Popen[str], int]:
    for _ in range(100):
        port = random.randint(20000, 20100)
        proc = subprocess.Popen(
            pinned(0, [sys.executable, "-c", ECHO, str(port)]),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        if proc.stdout.readline().strip() == "ready":
            return proc, port
        proc.wait()
    raise SystemExit("no free port in 20000-20100 for the echo server")


def time_udpeco(first: int, last: int) -> tuple[float, set[int]]:
    start = time.perf_counter()
    results = udpeco.scan("127.0.0.1", f"{first}-{last}")
    elapsed = time.perf_counter() - start
    return elapsed, {r.port for r in results if r.state == "open"}


def time_cli(first: int, last: int) -> tuple[float, set[int]]:
    """The `udpeco scan` command as a user runs it: a whole new process."""
    args = [sys.executable, "-m", "udpeco", "scan", "127.0.0.1", f"{first}-{last}"]
    start = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    elapsed = time.perf_counter() - start
    found = {int(line.split("/")[0]) for line in out.splitlines() if "/udp open" in line}
    return elapsed, found


def time_nmap(first: int, last: int) -> tuple[float, set[int]]:
    args = ["nmap", "-sU", "-n", "-p", f"{first}-{last}", "-oG", "-", "127.0.0.1"]
    start = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    elapsed = time.perf_counter() - start
    found = set()
    for line in out.splitlines():
        if "Ports:" in line:
            for entry in line.split("Ports:")[1].split("\t")[0].split(","):
                port, state = entry.strip().split("/")[:2]
                if state == "open":
                    found.add(int(port))
    return elapsed, found


def time_stdlib(first: int, last: int) -> tuple[float, set[int]]:
    """The práctica's final-1 client: one port at a time, wait 0.5 s for each."""
    found = set()
    start = time.perf_counter()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    for port in range(first, last + 1):
        s.sendto(b"udpeco", ("127.0.0.1", port))
        try:
            data, peer = s.recvfrom(1024)
        except socket.timeout:
            continue
        if peer[1] == port:
            found.add(port)
    s.close()
    return time.perf_counter() - start, found


def pairs(first: int, last: int, repeat: int, ours_fn=time_udpeco) -> tuple[list, list, int]:
    """udpeco then nmap, back to back, `repeat` times: their runs and how often their open
    ports agreed (other programs on the machine may open and close ports between runs)."""
    ours, theirs, agree = [], [], 0
    for _ in range(repeat):
        ours.append(ours_fn(first, last))
        theirs.append(time_nmap(first, last))
        agree += ours[-1][1] == theirs[-1][1]
    return ours, theirs, agree


def summary(runs: list) -> tuple[float, set[int]]:
    """Median time, and the open ports of the median run."""
    ordered = sorted(runs, key=lambda r: r[0])
    mid = ordered[len(ordered) // 2]
    return statistics.median(r[0] for r in runs), mid[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per tool and range (5)")
    parser.add_argument("--skip-stdlib", action="store_true", help="skip the ~50 s scan")
    parser.add_argument(
        "--pin-core", type=int, default=None, metavar="N", help="run the scanners on core N only"
    )
    args = parser.parse_args()
    if shutil.which("nmap") is None:
        print("nmap is not installed (apt-get install nmap)", file=sys.stderr)
        return 1
    if args.pin_core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.pin_core})
    echo, port = start_echo()
    rows = []
    notes: list[str] = []
    try:
        udpeco.scan("127.0.0.1", "1-100")  # warm-up
        for first, last in ((20000, 20100), (1, 65535)):
            rng = f"{first}-{last}"
            ours, theirs, agree = pairs(first, last, args.repeat)
            (u_t, u_found), (n_t, n_found) = summary(ours), summary(theirs)
            rows.append((rng, "udpeco.scan", u_t, u_found, 1.0))
            rows.append((rng, "nmap -sU", n_t, n_found, n_t / u_t))
            notes.append(f"{rng}: same open ports as nmap in {agree}/{args.repeat} runs")
            if first == 20000 and not args.skip_stdlib:
                s_t, s_found = time_stdlib(first, last)
                rows.append((rng, "stdlib sequential", s_t, s_found, s_t / u_t))
        ours, theirs, agree = pairs(1, 65535, args.repeat, time_cli)
        (u_t, u_found), (n_t, n_found) = summary(ours), summary(theirs)
        rows.append(("1-65535", "udpeco scan (CLI)", u_t, u_found, 1.0))
        rows.append(("1-65535", "nmap (CLI)", n_t, n_found, n_t / u_t))
        notes.append(
            f"CLI 1-65535: udpeco/nmap time {u_t / n_t:.2f}x; same open ports in "
            f"{agree}/{args.repeat} runs"
        )
    finally:
        echo.kill()
        echo.wait()
    pin = "unpinned" if args.pin_core is None else f"on core {args.pin_core}"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"echo server on 127.0.0.1:{port}; scanners {pin}; load {os.getloadavg()[0]:.1f}; {when}")
    print(f"{'range':<12} {'scanner':<18} {'time':>11} {'x udpeco':>9}  open ports")
    for rng, name, t, found, ratio in rows:
        shown = ",".join(map(str, sorted(found))) or "-"
        print(f"{rng:<12} {name:<18} {t * 1000:>8.1f} ms {ratio:>8.1f}x  {shown}")
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
