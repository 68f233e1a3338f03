"""Scanner benchmark against a host that rate-limits its ICMP errors: udpeco vs `nmap -sU`.

Two network namespaces joined by a veth pair (root needed); the target runs dnsmasq on 53 (when
installed) and echo servers on a few ports, and its kernel applies `net.ipv4.icmp_ratelimit`
(1000 ms by default: about six errors at once to one peer, then one per second). Every closed
port costs one ICMP error, so any scanner needs about (closed ports - 6) seconds; nmap -sU on
1-1000 takes over a quarter of an hour, so the default range is smaller (``--ports``), and
``--ratelimit 100`` (ten errors a second) gives the same race ten times faster.

The target limits its errors per peer address, so a scanner with several addresses has
several budgets: with ``--sources N`` the scanner's veth end gets N addresses and udpeco also
runs with ``--source`` over all of them (nmap has no such option: its ``-S`` takes one address).

udpeco (the ``udpeco scan`` command, from one address, then from N) and nmap run in turn,
``--repeat`` times each, with a pause before each run for the target's budget to refill, so
each starts with a full one. Prints each run's time, the ratios, and whether the verdicts of
every port agree with nmap's.
``sudo python benches/scan_netns_bench.py [--ports 1-60] [--ratelimit MS] [--sources N]
[--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from scan_netns import Net, network, servers  # noqa: E402

ECHO_PORTS = [7, 37, 123]


def udpeco_states(net: Net, ports: str, *extra: str) -> tuple[float, dict[int, str]]:
    cmd = [sys.executable, "-m", "udpeco", "scan", net.address, ports, "--all", "--json", *extra]
    start = time.perf_counter()
    out = net.run_in(net.scanner, *cmd, check=True, timeout=7200).stdout
    elapsed = time.perf_counter() - start
    rows = [json.loads(line) for line in out.splitlines()]
    return elapsed, {r["port"]: r["state"] for r in rows if "summary" not in r}


def nmap_states(net: Net, ports: str) -> tuple[float, dict[int, str]]:
    cmd = ["nmap", "-sU", "-n", "-Pn", "-p", ports, "-oX", "-", net.address]
    start = time.perf_counter()
    out = net.run_in(net.scanner, *cmd, check=True, timeout=7200).stdout
    elapsed = time.perf_counter() - start
    root = ET.fromstring(out)
    states: dict[int, str] = {}
    for p in root.iter("port"):
        state = p.find("state")
        states[int(p.get("portid", "0"))] = state.get("state", "") if state is not None else ""
    first, last = (int(x) for x in ports.split("-"))
    extra = root.find(".//extraports")
    if extra is not None:
        for port in range(first, last + 1):
            states.setdefault(port, extra.get("state", ""))
    return elapsed, states


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", default="1-60", help="range FIRST-LAST (1-60)")
    parser.add_argument("--ratelimit", type=int, default=None, help="icmp_ratelimit in ms")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each (1)")
    parser.add_argument("--sources", type=int, default=1, help="scanner addresses (1)")
    args = parser.parse_args()
    if os.geteuid() != 0 or shutil.which("nmap") is None:
        print("needs root (ip netns) and nmap", file=sys.stderr)
        return 1
    rows = []
    with network() as net, servers(net, ECHO_PORTS, []):
        prefix = net.address.rsplit(".", 1)[0]
        sources = [f"{prefix}.1"] + [f"{prefix}.{10 + i}" for i in range(1, args.sources)]
        for extra in sources[1:]:
            net.run_in(net.scanner, "ip", "addr", "add", f"{extra}/24", "dev", "scan0", check=True)
        tools = [("udpeco scan", lambda n, p: udpeco_states(n, p))]
        if args.sources > 1:
            multi = f"udpeco --source x{args.sources}"
            tools.append((multi, lambda n, p: udpeco_states(n, p, "--source", ",".join(sources))))
        tools.append(("nmap -sU", nmap_states))
        dns = None
        if shutil.which("dnsmasq", path="/usr/sbin:/usr/bin"):
            dns = net.popen_in(
                net.target, "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
                "--conf-file=/dev/null", f"--listen-address={net.address}",
                "--bind-interfaces", "--pid-file=",
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            net.wait_listening([53])
        if args.ratelimit is not None:
            net.sysctl(net.target, f"net.ipv4.icmp_ratelimit={args.ratelimit}")
        refill = 6 * (args.ratelimit or 1000) / 1000 + 0.5
        try:
            for _ in range(args.repeat):
                for name, fn in tools:
                    time.sleep(refill)  # both start with a full ICMP budget
                    rows.append((name, *fn(net, args.ports)))
        finally:
            if dns is not None:
                dns.terminate()
                dns.wait()
    limit = f"icmp_ratelimit {args.ratelimit or 1000} ms"
    print(f"{args.ports} on a rate-limited target ({limit}); {time.strftime('%Y-%m-%d %H:%M')}")
    nmap_runs = [r for r in rows if r[0] == "nmap -sU"]
    for i, (_, nt, ns) in enumerate(nmap_runs):
        print(f"run {i + 1}: nmap -sU {nt:7.1f} s")
        for name, _ in tools[:-1]:
            _, ut, us = [r for r in rows if r[0] == name][i]
            diff = {p: (us.get(p), ns.get(p)) for p in set(us) | set(ns) if us.get(p) != ns.get(p)}
            print(f"  {name:<22} {ut:7.1f} s   x nmap {ut / nt:.2f}   "
                  f"same verdicts: {not diff}{'' if not diff else f' {diff}'}")  # fmt: skip
        opened = sorted(p for p, s in ns.items() if s == "open")
        print(f"  open (nmap): {opened}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
