"""Runs every benchmark script in one go and keeps their reports together.

    python benches/run_all.py [--quick] [--out FILE]

Needs a release build (``pip install .`` or ``maturin develop --release``), the sources of
the C yardsticks in ``../shared/tools`` or ``$UDPECO_TOOLS`` (each script builds them in a
temporary copy), nmap, and a machine that is otherwise idle: each script pins servers to
core 0 and load to core 1 and reports ratios measured side by side in the same run.
``--quick`` uses fewer rounds and skips the práctica's 50 s sequential scan.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benches(quick: bool) -> list[list[str]]:
    """The benchmark command lines, in the order they run."""
    rounds = ["--rounds", "5"] if quick else []
    return [
        ["percall_bench.py", "--cpu", "1", *(["--rounds", "11"] if quick else [])],
        ["echo_bench.py", *rounds],
        ["batching_bench.py", *rounds],
        ["scan_bench.py", *(["--repeat", "3", "--skip-stdlib"] if quick else [])],
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds, no 50 s stdlib scan")
    ap.add_argument("--out", type=Path, help="also write the reports to this file")
    args = ap.parse_args()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    reports = [f"# udpeco benchmarks, {stamp}\n"]
    failed = 0
    for cmd in benches(args.quick):
        print(f"== {' '.join(cmd)}", flush=True)
        run = subprocess.run(
            [sys.executable, str(HERE / cmd[0]), *cmd[1:]], capture_output=True, text=True
        )
        print(run.stdout, end="")
        if run.returncode != 0:
            failed += 1
            print(run.stderr, file=sys.stderr, end="")
        reports.append(f"## {' '.join(cmd)}\n\n```\n{run.stdout}```\n")
    if args.out:
        args.out.write_text("\n".join(reports), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
