"""Helpers for the capture tests: run ``udpeco capture``, recompute UDP checksums, skip
without the privilege."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
from typing import Any

import pytest
import udpeco
from echo_helpers import read_line

UDPECO = [sys.executable, "-m", "udpeco"]


def can_capture() -> bool:
    """True when this process may open a packet socket (CAP_NET_RAW)."""
    try:
        udpeco.Capture("lo", 9).close()
    except PermissionError:
        return False
    return True


needs_capture = pytest.mark.skipif(
    not can_capture(), reason="capturing needs CAP_NET_RAW (run the tests as root)"
)


def udp_checksum(src: str, dst: str, sport: int, dport: int, length: int, payload: bytes) -> int:
    """RFC 768 / RFC 8200 checksum, computed here independently of udpeco's Rust decoder."""
    family = socket.AF_INET6 if ":" in src else socket.AF_INET
    a, b = socket.inet_pton(family, src), socket.inet_pton(family, dst)
    if family == socket.AF_INET:
        pseudo = a + b + struct.pack("!BBH", 0, socket.IPPROTO_UDP, length)
    else:
        pseudo = a + b + struct.pack("!I3xB", length, socket.IPPROTO_UDP)
    data = pseudo + struct.pack("!HHHH", sport, dport, length, 0) + payload
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total & 0xFFFF) or 0xFFFF


class CaptureProc:
    """``udpeco capture ARGS`` running, armed (its stderr said so) before the test sends."""

    def __init__(self, *args: str, prefix: tuple[str, ...] = ()) -> None:
        self.proc = subprocess.Popen(
            [*prefix, *UDPECO, "capture", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stderr is not None
        self.armed = read_line(self.proc.stderr, timeout=20).decode()
        assert "capturing UDP on" in self.armed, self.armed

    def line(self, timeout: float = 10.0) -> str:
        assert self.proc.stdout is not None
        return read_line(self.proc.stdout, timeout).decode()

    def record(self, timeout: float = 10.0) -> dict[str, Any]:
        return json.loads(self.line(timeout))

    def finish(self, timeout: float = 10.0) -> tuple[int, str, str]:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise
        return self.proc.returncode, out.decode(), err.decode()

    def __enter__(self) -> CaptureProc:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
