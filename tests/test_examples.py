"""The examples run as documented (so they cannot rot)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_engines_tour_runs_and_finds_its_server() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "engines_tour.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "Server reply : hola" in out.stdout
    assert "scan found: [" in out.stdout
    assert "silent server: timed out" in out.stdout


def test_dropin_echo_server_echoes_prints_and_stops_on_dot() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "dropin_echo_server.py"), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.settimeout(0.2)
        reply = b""
        for _ in range(50):  # the server may still be starting: retry until it answers
            c.sendto(b"hola\n", ("127.0.0.1", port))
            try:
                reply = c.recvfrom(1024)[0]
                break
            except socket.timeout:
                time.sleep(0.05)
        assert reply == b"hola\n"
        c.sendto(b".", ("127.0.0.1", port))
        out, _ = server.communicate(timeout=10)
    finally:
        server.kill()
    assert server.returncode == 0
    assert f"Message[127.0.0.1:{c.getsockname()[1]}] - hola" in out
