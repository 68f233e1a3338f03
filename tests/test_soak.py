"""A bounded soak of ``udpeco serve``: under steady load from many sources, RSS and the number of
open descriptors stay flat (nothing grows per datagram or per client once warmed up).

Bounded in count and time: a few seconds of load on loopback, then the server is stopped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import udpeco


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def load_phase(port: int, seconds: float, clients: int) -> int:
    """Steady load plus ``clients`` short-lived sources; returns the echoes received."""
    got = 0
    end = time.monotonic() + seconds
    # Many distinct sources (each a new ephemeral port): the per-client state is exercised.
    for i in range(clients):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"client %d" % i, ("127.0.0.1", port))
    # A steady stream from one source, for the rest of the phase (below the default rate limit
    # is not the point here: the limiter's own table must stay bounded too).
    res = udpeco.bench("127.0.0.1", port, duration=max(0.5, end - time.monotonic()), size=200)
    got += res["received"]
    return got


def test_serve_rss_and_descriptors_stay_flat_under_a_soak() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = subprocess.Popen(
        [sys.executable, "-m", "udpeco", "serve", "--quiet", "--bind", "127.0.0.1"]
        + ["--port", str(port), "--delay", "0.002"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # until the server has bound its port
            try:
                with udpeco.Client("127.0.0.1", port, timeout=0.2, retries=0) as client:
                    assert client.request(b"up") == b"up"
                break
            except (ConnectionRefusedError, TimeoutError):
                assert server.poll() is None and time.monotonic() < deadline
        # Warm-up: allocator pools, the delay queue and the tables reach their working size.
        assert load_phase(port, 2.0, 1500) > 0
        rss1, fds1 = rss_kib(server.pid), fd_count(server.pid)
        for _ in range(2):
            assert load_phase(port, 2.0, 1500) > 0
        rss2, fds2 = rss_kib(server.pid), fd_count(server.pid)
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGINT)
        out, err = server.communicate(timeout=10)
    print(f"soak: RSS {rss1} -> {rss2} KiB, fds {fds1} -> {fds2}")
    assert fds2 == fds1, (fds1, fds2)
    # 4 s more of load and 3,000 more sources after the warm-up: a few MiB of slack at most.
    assert rss2 - rss1 < 8 * 1024, (rss1, rss2)
    assert server.returncode in (0, 130), err
