"""Echo peers and process helpers shared by test_client.py and test_bench.py."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from echo_helpers import EchoThread as EchoThread  # the one stdlib echo thread (re-exported)
from udpeco.compare.harness import free_ports, wait_bound

#: The C reference tools (``../shared/tools`` next to the main repository), if present.
TOOLS = Path(
    os.environ.get("UDPECO_TOOLS", Path(__file__).resolve().parents[1].parent / "shared" / "tools")
)


@contextmanager
def silent_peer() -> Iterator[socket.socket]:
    """A bound socket that never answers (datagrams to it are not refused)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    try:
        yield s
    finally:
        s.close()


def closed_port() -> int:
    """A port with nothing bound on 127.0.0.1 (the kernel answers ICMP port unreachable)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def process(
    args: list[str], port: int | None = None, **kw: object
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process that is killed (by its pid) when the block ends; with ``port``, the block
    starts once a socket is bound on it (a server's)."""
    p = subprocess.Popen(args, **kw)  # type: ignore[call-overload]
    try:
        if port is not None:
            wait_bound([port], p)
        yield p
    finally:
        if p.poll() is None:
            p.kill()
        p.wait(5)


@contextmanager
def echo_mmsg(tmp_dir: Path) -> Iterator[int]:
    """The reference C echo server from ../shared/tools, built with cc, on a random port."""
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler is needed to build the reference echo server"
    exe = tmp_dir / "echo_mmsg"
    if not exe.exists():
        subprocess.run([cc, "-O2", "-o", str(exe), str(TOOLS / "echo_mmsg.c")], check=True)
    (port,) = free_ports(1)
    with process([str(exe), str(port)], port):
        yield port


def udpeco_cmd(*args: str) -> list[str]:
    """The ``udpeco`` command line run with this interpreter."""
    return [sys.executable, "-m", "udpeco", *args]


def sigint_latency(child_code: str, settle: float = 0.4) -> tuple[float, str]:
    """Runs ``child_code`` in a Python child that prints ``ready`` before blocking and
    ``interrupted`` when KeyboardInterrupt reaches it; sends a real SIGINT after ``settle``
    seconds and returns (seconds from SIGINT to ``interrupted``, the child's output)."""
    with process(
        [sys.executable, "-u", "-c", child_code],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as p:
        assert p.stdout is not None
        first = p.stdout.readline().decode()
        assert first.strip() == "ready", first
        time.sleep(settle)
        assert p.poll() is None, "the child must still be blocked"
        sent = time.monotonic()
        os.kill(p.pid, signal.SIGINT)
        line = p.stdout.readline().decode()
        latency = time.monotonic() - sent
        rest = p.stdout.read().decode()
        p.wait(5)
        return latency, line + rest
