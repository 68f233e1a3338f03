"""GSO refused by the route: send_many falls back to one datagram per message.

A network namespace of our own whose loopback has a 1,500-byte MTU: a GSO send of segments
larger than the MTU fails with EINVAL there, so send_many must send the datagrams without
GSO (the kernel fragments them) and still deliver every one, in order.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid

import pytest

REASON = "needs root and iproute2 (`ip netns`)"
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None, reason=REASON)

CHILD = textwrap.dedent(
    """
    import socket, struct, sys
    from udpeco import _udpeco
    size = int(sys.argv[1])
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(2.0)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    data = [struct.pack("!I", i).ljust(size, b"x") for i in range(20)]
    # The plain GSO send itself is refused here (the premise of the test):
    seg = [(socket.SOL_UDP, 103, struct.pack("H", size))]
    try:
        tx.sendmsg(data[:2], seg, 0, rx.getsockname())
        print("gso accepted")
    except OSError as e:
        print("gso refused", e.errno)
    sent = _udpeco.sock_send_many(tx, [(d, rx.getsockname()) for d in data])
    got = [rx.recvfrom(4096) for _ in range(sent)]
    port = tx.getsockname()[1]
    ok = [d for d, a in got] == data and all(a == ("127.0.0.1", port) for d, a in got)
    print("sent", sent, "ok", ok)
    """
)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def test_send_many_without_gso_where_the_route_refuses_it() -> None:
    ns = f"udpeco-msg-{uuid.uuid4().hex[:8]}"
    ip("netns", "add", ns)
    try:
        ip("-n", ns, "link", "set", "lo", "mtu", "1500")
        ip("-n", ns, "link", "set", "lo", "up")
        out = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-c", CHILD, "1600"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        ip("netns", "delete", ns)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] in ("gso refused 22", "gso refused 90"), out.stdout  # EINVAL before 6.x
    assert lines[1] == "sent 20 ok True", out.stdout
