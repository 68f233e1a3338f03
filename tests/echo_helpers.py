"""Helpers for the tests that need an echo peer: ``udpeco serve`` on an ephemeral port
(:func:`start_serve`), a stdlib echo server in a thread (:class:`EchoThread`), and reading a
child's output without hanging (:func:`read_line`), polling a condition (:func:`wait_until`)
and type-checking a snippet (:func:`mypy_strict`). The one place for these helpers: the bench,
client and scan tests use this EchoThread too (through load_helpers and scan_util)."""

from __future__ import annotations

import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

BANNER = re.compile(rb"echoing on (\S+):(\d+)")

#: The loopback address the tests' servers listen on: a random one of 127.0.0.0/8 rather than
#: 127.0.0.1, so that another test scanning 127.0.0.1 on this machine at the same time never
#: sends datagrams to them (exact counters and silence timers depend on that).
LOOP = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def read_line(stream, timeout: float = 10.0) -> bytes:
    """One line from a child's pipe, failing instead of hanging."""
    deadline = time.monotonic() + timeout
    fd = stream.fileno()
    buf = b""
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no line from the child within {timeout} s (got {buf!r})")
        chunk = os.read(fd, 1)
        if not chunk:
            break
        buf += chunk
    return buf


def wait_until(cond: Callable[[], object], timeout: float = 5.0) -> bool:
    """Polls ``cond`` until it is true (True) or ``timeout`` s passed (its last value)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.005)
    return bool(cond())


def start_serve(*args: str, module: bool = True) -> tuple[subprocess.Popen[bytes], int]:
    """Starts ``udpeco serve`` on ``LOOP`` and an ephemeral port; returns it and the port."""
    cmd = [sys.executable, "-m", "udpeco"] if module else ["udpeco"]
    has_port = any(a in ("--port", "--random-port") for a in args) or (
        bool(args) and args[0][:1].isdigit()
    )
    extra = [] if has_port else ["--port", "0"]
    has_bind = "--bind" in args
    proc = subprocess.Popen(
        [*cmd, "serve", *([] if has_bind else ["--bind", LOOP]), *extra, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    line = read_line(proc.stderr)
    m = BANNER.search(line)
    if not m:
        proc.kill()
        raise AssertionError(f"no banner: {line!r} {proc.stderr.read()!r}")
    return proc, int(m.group(2))


def finish(proc: subprocess.Popen[bytes], sig: int | None = signal.SIGINT) -> tuple[int, str, str]:
    """Stops the server (if `sig`), returns its exit code, stdout and the rest of stderr."""
    if sig is not None and proc.poll() is None:
        proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def client(family: int = socket.AF_INET, timeout: float = 2.0) -> socket.socket:
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    return s


def ask(s: socket.socket, port: int, data: bytes, host: str = LOOP) -> bytes:
    """Sends `data` and returns the reply, checking it came from the port asked."""
    s.sendto(data, (host, port))
    reply, addr = s.recvfrom(70000)
    assert addr[1] == port
    return reply


class EchoThread:
    """A stdlib UDP echo server in a daemon thread, serving from construction until
    :meth:`close` (or the end of a ``with`` block).

    ``sock``: a bound socket to serve on (default: a new one on 127.0.0.1, an ephemeral
    port). ``delay``: seconds before each reply. ``drop_every``: skip every N-th datagram
    (0: none). ``received`` counts the datagrams that arrived.
    """

    def __init__(
        self, sock: socket.socket | None = None, *, delay: float = 0.0, drop_every: int = 0
    ) -> None:
        if sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
        self.sock = sock
        self.sock.settimeout(0.05)
        self.port: int = sock.getsockname()[1]
        self.delay = delay
        self.drop_every = drop_every
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                if self.sock.fileno() == -1:
                    return
                continue  # e.g. an ICMP error reported on the socket
            self.received += 1
            if self.drop_every and self.received % self.drop_every == 0:
                continue
            if self.delay:
                time.sleep(self.delay)
            try:
                self.sock.sendto(data, addr)
            except OSError:
                pass

    def close(self) -> None:
        """Stops the thread and closes the socket."""
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def __enter__(self) -> EchoThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def mypy_strict(tmp_path: Path, name: str, code: str) -> subprocess.CompletedProcess[str]:
    """``mypy --strict`` on ``code`` (dedented) written to ``tmp_path/name``."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    cache = str(tmp_path / "mypy-cache")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", cache]
        + [str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
