"""Network namespaces for the scanner's tests: a scanner and a target joined by a veth pair.

Traffic between them is not loopback, so the target's kernel applies its ICMP rate limit
(`net.ipv4.icmp_ratelimit`, 1000 ms by default: a burst of about six errors to one peer, then
one per second) exactly as a remote Linux host does. Every name carries a random tag, and
everything is deleted afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

REASON = "needs root and iproute2 (`ip netns`) to build a network of namespaces"
CAN_RUN = os.geteuid() == 0 and shutil.which("ip") is not None


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass
class Net:
    scanner: str
    target: str
    address: str

    def run_in(self, ns: str, *cmd: str, **kw) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", ns, *cmd], capture_output=True, text=True, **kw
        )

    def popen_in(self, ns: str, *cmd: str, **kw) -> subprocess.Popen[str]:
        return subprocess.Popen(["ip", "netns", "exec", ns, *cmd], text=True, **kw)

    def sysctl(self, ns: str, setting: str) -> None:
        self.run_in(ns, "sysctl", "-qw", setting, check=True, timeout=10)

    def udp_listening(self, port: int) -> bool:
        out = self.run_in(self.target, "ss", "-Hunl", f"sport = :{port}", timeout=10).stdout
        return bool(out.strip())

    def wait_listening(self, ports: list[int], within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while not all(self.udp_listening(p) for p in ports):
            if time.monotonic() > deadline:
                raise AssertionError(f"target never listened on {ports}")
            time.sleep(0.05)

    def scan(self, spec: str, *options: str, timeout: float = 60) -> dict:
        """Runs udpeco.scan in the scanner namespace; returns elapsed, states, services."""
        out = self.run_in(
            self.scanner,
            sys.executable,
            "-c",
            SCANNER,
            self.address,
            spec,
            *options,
            timeout=timeout,
            check=True,
        ).stdout
        report = json.loads(out)
        report["states"] = {int(p): s for p, s in report["states"].items()}
        report["services"] = {int(p): s for p, s in report["services"].items()}
        return report


SCANNER = textwrap.dedent(
    """
    import json, sys, time, udpeco
    start = time.monotonic()
    kw = dict(a.split("=", 1) for a in sys.argv[3:])
    kw = {k: float(v) for k, v in kw.items()}
    results = udpeco.scan(sys.argv[1], sys.argv[2], **kw)
    print(json.dumps({"elapsed": time.monotonic() - start,
                      "states": {r.port: r.state for r in results},
                      "services": {r.port: r.service for r in results}}))
    """
)


@contextmanager
def network() -> Iterator[Net]:
    """Namespaces `scanner` and `target` with 10.R.S.1/24 and 10.R.S.2/24 on a veth pair."""
    tag = uuid.uuid4().hex[:8]
    a, b = f"udpsc-a-{tag}", f"udpsc-b-{tag}"
    octets = int(tag[:4], 16)
    net = f"10.{200 + octets % 50}.{octets // 50 % 250}"
    try:
        ip("netns", "add", a)
        ip("netns", "add", b)
        ip("-n", a, "link", "add", "scan0", "type", "veth", "peer", "name", "tgt0", "netns", b)
        ip("-n", a, "addr", "add", f"{net}.1/24", "dev", "scan0")
        ip("-n", b, "addr", "add", f"{net}.2/24", "dev", "tgt0")
        for ns, dev in ((a, "scan0"), (b, "tgt0")):
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", dev, "up")
        yield Net(a, b, f"{net}.2")
    finally:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


TARGET_SERVERS = textwrap.dedent(
    """
    import socket, sys, threading
    def echo(s):
        while True:
            data, peer = s.recvfrom(2048)
            s.sendto(data, peer)
    keep = []
    for spec in sys.argv[1:]:
        kind, port = spec.split(":")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", int(port)))
        keep.append(s)
        if kind == "echo":
            threading.Thread(target=echo, args=(s,), daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
    """
)


@contextmanager
def servers(net: Net, echo: list[int], silent: list[int]) -> Iterator[None]:
    """Echo servers and silent bound sockets in the target namespace."""
    specs = [f"echo:{p}" for p in echo] + [f"silent:{p}" for p in silent]
    proc = net.popen_in(
        net.target,
        sys.executable,
        "-c",
        TARGET_SERVERS,
        *specs,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield
    finally:
        proc.kill()
        proc.wait()


def add_loss(net: Net, percent: int) -> None:
    """Drops `percent`% of the UDP datagrams reaching the target (nftables numgen; this
    kernel has no netem)."""
    rules = (
        "add table inet udpsc\n"
        "add chain inet udpsc in { type filter hook input priority 0 ; }\n"
        f"add rule inet udpsc in meta l4proto udp numgen random mod 100 < {percent} drop\n"
    )
    net.run_in(net.target, "nft", "-f", "-", input=rules, check=True, timeout=10)
