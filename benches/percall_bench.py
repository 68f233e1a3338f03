#!/usr/bin/env python3
"""Per-call cost of udpeco.socket's sendto/recvfrom against the stdlib socket's, side by side.

Each round measures every operation on both backends, alternating which goes first, so that
both see the same machine state; the figure per backend is the median over rounds of the
nanoseconds per call, and the ratio is udpeco / stdlib (target: <= 1.15).

Operations (64-byte datagrams over loopback, one process, one thread):
  sendto     s.sendto(payload, addr) to a stdlib socket that never reads (the kernel
             drops what does not fit, after the send has done all its work)
  recvfrom   s.recvfrom(2048) on a queue pre-filled by a stdlib sender (untimed)
  recv       s.recv(2048), same
  pingpong   a.sendto(b) + b.recvfrom + b.sendto(a) + a.recvfrom, both sockets of the
             backend; reported per call (4 calls per exchange)

Wall-clock figures on a shared machine are noisy (other processes, packet captures). With
``--callgrind`` the script also counts user-space instructions per call under
``valgrind --tool=callgrind`` (the kernel's work is not counted; the count is repeatable
whatever the load): for sendto and pingpong, whose every call is made by the backend under
test, it runs N1 and N2 calls and reports (I(N2) - I(N1)) / (N2 - N1), so interpreter start-up
and set-up cancel out.

Usage:  python benches/percall_bench.py [--rounds 15] [--calls 4000] [--cpu 0] [--callgrind]
Run it with a release build (``maturin develop --release``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from typing import Callable

import udpeco

PAYLOAD = b"x" * 64
BATCH = 1000  # datagrams queued per recv batch: well inside the enlarged receive buffer


def _udp(mod, rcvbuf: int | None = None):
    s = mod.socket(mod.AF_INET, mod.SOCK_DGRAM)
    if rcvbuf:
        s.setsockopt(mod.SOL_SOCKET, mod.SO_RCVBUF, rcvbuf)
    s.bind(("127.0.0.1", 0))
    return s


def bench_sendto(mod, calls: int) -> float:
    sink = _udp(socket)
    s = _udp(mod)
    addr = sink.getsockname()
    send = s.sendto
    payload = PAYLOAD
    t0 = time.perf_counter_ns()
    for _ in range(calls):
        send(payload, addr)
    elapsed = time.perf_counter_ns() - t0
    s.close()
    sink.close()
    return elapsed / calls


def _bench_recv(mod, calls: int, use_recvfrom: bool) -> float:
    r = _udp(mod, rcvbuf=8 << 20)
    src = _udp(socket)
    src.connect(r.getsockname())
    r.connect(src.getsockname())  # no strays from other programs
    call = r.recvfrom if use_recvfrom else r.recv
    total = 0
    done = 0
    while done < calls:
        n = min(BATCH, calls - done)
        for _ in range(n):
            src.send(PAYLOAD)
        t0 = time.perf_counter_ns()
        for _ in range(n):
            call(2048)
        total += time.perf_counter_ns() - t0
        done += n
    r.close()
    src.close()
    return total / calls


def bench_recvfrom(mod, calls: int) -> float:
    return _bench_recv(mod, calls, True)


def bench_recv(mod, calls: int) -> float:
    return _bench_recv(mod, calls, False)


def bench_pingpong(mod, calls: int) -> float:
    a = _udp(mod)
    b = _udp(mod)
    aa, ba = a.getsockname(), b.getsockname()
    a.connect(ba)
    b.connect(aa)
    exchanges = max(1, calls // 4)
    payload = PAYLOAD
    a_send, a_recv, b_send, b_recv = a.sendto, a.recvfrom, b.sendto, b.recvfrom
    t0 = time.perf_counter_ns()
    for _ in range(exchanges):
        a_send(payload, ba)
        b_recv(2048)
        b_send(payload, aa)
        a_recv(2048)
    elapsed = time.perf_counter_ns() - t0
    a.close()
    b.close()
    return elapsed / (exchanges * 4)


BENCHES: dict[str, Callable[[object, int], float]] = {
    "sendto": bench_sendto,
    "recvfrom": bench_recvfrom,
    "recv": bench_recv,
    "pingpong": bench_pingpong,
}
BACKENDS = {"stdlib": socket, "udpeco": udpeco}


# recvfrom/recv counts include the stdlib sender that fills the queue (the same work for both
# backends), so their ratio understates the difference; udpeco - stdlib is exact.
CALLGRIND_OPS = ["sendto", "recvfrom", "recv", "pingpong"]
CALLGRIND_CALLS = (2000, 10000)


def _callgrind_instructions(op: str, backend: str, calls: int) -> int:
    """User-space instructions of a child that runs ``calls`` calls of ``op``."""
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            os.path.abspath(__file__),
            "--child",
            op,
            backend,
            str(calls),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    match = re.search(r"Collected : (\d+)", out.stderr)
    if not match:
        raise RuntimeError(f"no callgrind total in: {out.stderr[-500:]}")
    return int(match.group(1))


def callgrind_table() -> None:
    """Prints user-space instructions per call for each backend, and the ratio."""
    if shutil.which("valgrind") is None:
        print("valgrind not installed: no instruction counts")
        return
    n1, n2 = CALLGRIND_CALLS
    print(f"# user-space instructions per call (callgrind, {n2} - {n1} calls)")
    print(f"{'operation':<10} {'stdlib':>10} {'udpeco':>10} {'ratio':>7} {'difference':>10}")
    for op in CALLGRIND_OPS:
        per_call = {}
        for backend in BACKENDS:
            low = _callgrind_instructions(op, backend, n1)
            high = _callgrind_instructions(op, backend, n2)
            per_call[backend] = (high - low) / (n2 - n1)
        ratio = per_call["udpeco"] / per_call["stdlib"]
        diff = per_call["udpeco"] - per_call["stdlib"]
        print(
            f"{op:<10} {per_call['stdlib']:>10.0f} {per_call['udpeco']:>10.0f} {ratio:>7.3f}"
            f" {diff:>+10.0f}"
        )


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        op, backend, calls = sys.argv[2], sys.argv[3], int(sys.argv[4])
        BENCHES[op](BACKENDS[backend], calls)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=4000, help="calls per measurement")
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    parser.add_argument("--only", choices=sorted(BENCHES), action="append")
    parser.add_argument("--callgrind", action="store_true", help="also count instructions per call")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    names = args.only or list(BENCHES)
    results: dict[tuple[str, str], list[float]] = {}
    for name in names:  # warm up both backends once
        for mod in BACKENDS.values():
            BENCHES[name](mod, 500)
    for rnd in range(args.rounds):
        order = list(BACKENDS.items())
        if rnd % 2:
            order.reverse()
        for name in names:
            for bname, mod in order:
                results.setdefault((name, bname), []).append(BENCHES[name](mod, args.calls))
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, rounds={args.rounds}, "
        f"calls={args.calls}, cpu={args.cpu}, udpeco {udpeco.__version__}"
    )
    print(
        f"{'operation':<10} {'stdlib ns':>10} {'udpeco ns':>10} {'ratio':>7} "
        f"{'ratio range':>13}  target<=1.15"
    )
    worst = 0.0
    for name in names:
        std_runs, our_runs = results[(name, "stdlib")], results[(name, "udpeco")]
        # The ratio is the median of per-round ratios: each round pairs two measurements
        # taken back to back, which cancels slow drifts in the machine's load.
        ratios = sorted(o / s for o, s in zip(our_runs, std_runs))
        ratio = statistics.median(ratios)
        q1, q3 = ratios[len(ratios) // 4], ratios[(3 * len(ratios)) // 4]
        worst = max(worst, ratio)
        verdict = "ok" if ratio <= 1.15 else "MISS"
        print(
            f"{name:<10} {statistics.median(std_runs):>10.0f} "
            f"{statistics.median(our_runs):>10.0f} {ratio:>7.3f} "
            f"{f'{q1:.2f}-{q3:.2f}':>13}  {verdict}"
        )
    print(f"worst ratio {worst:.3f} (ratio range: interquartile range of the per-round ratios)")
    if args.callgrind:
        callgrind_table()


if __name__ == "__main__":
    main()
