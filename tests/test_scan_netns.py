"""Scans across real networks built with network namespaces: rate-limited ICMP, and a router.

The first test: a remote Linux host that rate-limits its ICMP errors.
Two namespaces joined by a veth pair: the target runs an echo server and a silent socket, and
its kernel applies the default `icmp_ratelimit` (a burst of about six port-unreachable errors
to one peer, then one per second), because veth is not loopback. A scanner that trusted
silence would call most closed ports open|filtered; udpeco must notice the lost canaries,
slow down, and still give every port its true verdict.

The second: the target namespace routes to a network it refuses (`ip route add prohibit`), so
it answers probes for that network with ICMP "administratively prohibited" (code 13), which
nmap and udpeco call `filtered`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import scan_netns
from scan_netns import ip

REASON = "needs root and iproute2 (`ip netns`) to build the rate-limited network"
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None, reason=REASON)

TARGET_SERVERS = textwrap.dedent(
    """
    import socket, sys, threading
    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    echo.bind(("0.0.0.0", int(sys.argv[1])))
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("0.0.0.0", int(sys.argv[2])))
    def loop():
        while True:
            data, peer = echo.recvfrom(2048)
            echo.sendto(data, peer)
    threading.Thread(target=loop, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
    """
)

SCANNER = textwrap.dedent(
    """
    import json, sys, time, udpeco
    start = time.monotonic()
    results = udpeco.scan(sys.argv[1], sys.argv[2], timeout=0.3)
    print(json.dumps({"elapsed": time.monotonic() - start,
                      "states": {r.port: r.state for r in results}}))
    """
)


@pytest.fixture
def network():
    """Namespaces `scanner` and `target` on a veth pair (tests/scan_netns.py builds them)."""
    ctx = scan_netns.network()
    try:
        net = ctx.__enter__()
    except (subprocess.CalledProcessError, OSError) as e:
        pytest.skip(f"{REASON}: {e}")
    try:
        yield net.scanner, net.target, net.address
    finally:
        ctx.__exit__(None, None, None)


def icmp_rate_limited(ns: str) -> int:
    """ICMP errors the namespace's kernel held back because of the per-host rate limit."""
    snmp = subprocess.run(
        ["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    head, values = [line.split() for line in snmp.splitlines() if line.startswith("Icmp:")][:2]
    row = dict(zip(head[1:], values[1:]))
    return int(row.get("OutRateLimitHost", "0")) + int(row.get("OutRateLimitGlobal", "0"))


def test_rate_limited_icmp_still_gives_true_verdicts(network: tuple[str, str, str]) -> None:
    scanner_ns, target_ns, target = network
    first, echo_port, silent_port, last = 21000, 21003, 21009, 21011
    servers = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            target_ns,
            sys.executable,
            "-c",
            TARGET_SERVERS,
            str(echo_port),
            str(silent_port),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert servers.stdout is not None and servers.stdout.readline().strip() == "ready"
        scan = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                scanner_ns,
                sys.executable,
                "-c",
                SCANNER,
                target,
                f"{first}-{last}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        servers.kill()
        servers.wait()
    report = json.loads(scan.stdout)
    states = {int(p): s for p, s in report["states"].items()}
    expected = {p: "closed" for p in range(first, last + 1)}
    expected[echo_port] = "open"
    expected[silent_port] = "open|filtered"
    assert states == expected
    assert icmp_rate_limited(target_ns) > 0, "the target's kernel really rate-limited ICMP"
    print(f"{last - first + 1} ports behind rate-limited ICMP in {report['elapsed']:.2f} s")


def test_router_refusal_is_filtered(network: tuple[str, str, str]) -> None:
    scanner_ns, target_ns, target = network
    # A network behind the target: reach it through the target, which refuses it.
    prefix = target.rsplit(".", 1)[0]
    refused_net = f"{prefix.split('.')[0]}.{int(prefix.split('.')[1]) + 1}.9"
    subprocess.run(
        ["ip", "netns", "exec", target_ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
        check=True,
        timeout=10,
    )
    ip("-n", target_ns, "route", "add", "prohibit", f"{refused_net}.0/24")
    ip("-n", scanner_ns, "route", "add", f"{refused_net}.0/24", "via", target)
    scan = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            scanner_ns,
            sys.executable,
            "-c",
            SCANNER,
            f"{refused_net}.5",
            "21000-21002",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(scan.stdout)
    assert set(report["states"].values()) == {"filtered"}, report
