"""Wrong verdicts behind a rate-limited target: scans back to back, and over a 30%-loss link.

Two networks of namespaces at once (root needed; see tests/scan_netns.py), 8 ports each (an
echo server, a silent socket, 6 closed ports), the target's default `icmp_ratelimit`. In the
first, ``--runs`` scans back to back (each one finds the target's ICMP budget emptied by the
one before); in the second, as many scans while an nftables rule drops 30% of the datagrams
reaching the target (this kernel has no netem). Prints how many runs had a wrong verdict and
each scan's time. ``sudo python benches/scan_wrong_bench.py [--runs 10]``.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from scan_netns import Net, add_loss, network, servers  # noqa: E402


def scenario(net: Net, loss: bool, runs: int) -> list[tuple[float, dict[int, str]]]:
    first, last, echo, silent = (
        (22000, 22007, 22006, 22001) if loss else (21000, 21007, 21002, 21005)
    )
    if loss:
        add_loss(net, 30)
    want = {p: "closed" for p in range(first, last + 1)}
    want[echo], want[silent] = "open", "open|filtered"
    out = []
    with servers(net, [echo], [silent]):
        for _ in range(runs):
            report = net.scan(f"{first}-{last}", "timeout=0.3")
            bad = {p: s for p, s in report["states"].items() if s != want[p]}
            out.append((report["elapsed"], bad))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="scans per scenario (10)")
    args = parser.parse_args()
    with network() as a, network() as b, ThreadPoolExecutor(2) as pool:
        jobs = {
            "back to back": pool.submit(scenario, a, False, args.runs),
            "30% loss": pool.submit(scenario, b, True, args.runs),
        }
        for name, job in jobs.items():
            res = job.result()
            wrong = [bad for _, bad in res if bad]
            times = ", ".join(f"{t:.1f}" for t, _ in res)
            print(
                f"{name}: {len(wrong)} of {len(res)} runs wrong {wrong or ''}; times (s): {times}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
