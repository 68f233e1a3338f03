"""`udpeco capture` on a veth pair between two network namespaces: a client in one sends to an
echo server in the other, and the capture on the server's veth sees each datagram once per
direction (`in` then `out`), with the right header; a datagram larger than the MTU arrives in
fragments, of which the first is shown (its checksum cannot be verified alone)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid

import pytest
from capture_util import CaptureProc, needs_capture, udp_checksum
from echo_helpers import read_line

pytestmark = [
    needs_capture,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None,
        reason="needs root and iproute2 (`ip netns`) for the two-namespace network",
    ),
]

ECHO = textwrap.dedent(
    """
    import socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(sys.argv[1])))
    print("ready", flush=True)
    while True:
        data, peer = s.recvfrom(65535)
        s.sendto(data, peer)
    """
)

CLIENT = textwrap.dedent(
    """
    import socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 41000))
    s.settimeout(5)
    for size in (1, 1472, 2000):
        s.sendto(b"z" * size, (sys.argv[1], int(sys.argv[2])))
        assert s.recvfrom(65535)[0] == b"z" * size
    print("done", flush=True)
    """
)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def network():
    """Namespaces A (server) and B (client), 10.R.S.1/24 and .2/24 on a veth pair (MTU 1500)."""
    tag = uuid.uuid4().hex[:6]
    a, b = f"capture-a-{tag}", f"capture-b-{tag}"
    dev_a, dev_b = f"capa-{tag}", f"capb-{tag}"
    octets = int(tag[:4], 16)
    net = f"10.{150 + octets % 50}.{octets // 50 % 250}"
    try:
        ip("netns", "add", a)
        ip("netns", "add", b)
        ip("-n", a, "link", "add", dev_a, "mtu", "1500", "type", "veth", "peer", "name", dev_b,
           "netns", b)  # fmt: skip
        ip("-n", a, "addr", "add", f"{net}.1/24", "dev", dev_a)
        ip("-n", b, "addr", "add", f"{net}.2/24", "dev", dev_b)
        for ns, dev in ((a, dev_a), (b, dev_b)):
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", dev, "up")
        yield a, b, dev_a, f"{net}.1", f"{net}.2"
    finally:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def test_veth_between_namespaces(network) -> None:
    ns_a, ns_b, dev_a, addr_a, addr_b = network
    port = 5000
    echo = subprocess.Popen(
        ["ip", "netns", "exec", ns_a, sys.executable, "-c", ECHO, str(port)],
        stdout=subprocess.PIPE,
    )
    try:
        assert read_line(echo.stdout, 20) == b"ready\n"
        with CaptureProc(
            "--iface", dev_a, "--port", str(port), "--json", "--count", "6",
            prefix=("ip", "netns", "exec", ns_a),
        ) as cap:  # fmt: skip
            client = subprocess.run(
                ["ip", "netns", "exec", ns_b, sys.executable, "-c", CLIENT, addr_a, str(port)],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert client.stdout == "done\n", client.stderr
            records = [cap.record() for _ in range(6)]
            code, _, err = cap.finish()
        assert code == 0, err
    finally:
        echo.kill()
        echo.wait()
    inbound = (addr_b, addr_a, 41000, port)
    outbound = (addr_a, addr_b, port, 41000)
    for d, size, way in zip(records, (1, 1, 1472, 1472, 2000, 2000), ("in", "out") * 3):
        assert d["iface"] == dev_a
        assert d["direction"] == way
        assert (d["src"], d["dst"], d["sport"], d["dport"]) == (
            inbound if way == "in" else outbound
        )
        assert d["length"] == 8 + size
        if size <= 1472:
            assert not d["fragment"]
            assert d["payload_len"] == size
            assert d["payload"] == "z" * size
            assert d["checksum_status"] in ("ok", "offload")
            want = udp_checksum(
                d["src"], d["dst"], d["sport"], d["dport"], d["length"], b"z" * size
            )
            assert d["checksum"] == want
        else:
            # 2000 bytes do not fit a 1500-byte MTU: the first fragment carries the header
            # and 1500 - 20 - 8 bytes of payload; the later fragments have no UDP header.
            assert d["fragment"]
            assert (d["payload_len"], d["checksum_status"]) == (1472, "unverified")
