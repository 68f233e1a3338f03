"""The machinery under ``udpeco compare``: processes, ports, load, and best-of runs.

Everything a scenario (:mod:`udpeco.compare.scenarios`, :mod:`udpeco.compare.timers`) needs to
run a lab program or an engine as its own process on the right core, wait for its ports, load
it, keep the best of several interleaved runs and tell the user about each run as it ends.
The Rust engines run through the real command line (``udpeco serve ... --json``,
``udpeco bench ... --json``, ``udpeco client``, ``udpeco scan``), as a user would run them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

#: The load every rate is measured with: datagrams in flight and their size (as udpload).
WINDOW = 64
SIZE = 64


@dataclass
class Row:
    """One run of a scenario: who ran it, what it printed, how fast."""

    runner: str
    transcript: str | None = None
    figure: float | None = None
    unit: str = ""
    note: str = ""
    #: The part of the transcript a client sees; an engine whose own printing is not the lab
    #: script's is compared on this part only (``transcript`` is then None).
    client: str | None = None


@dataclass
class Options:
    """What the user chose on the command line, and where progress goes."""

    duration: float = 2.0
    range_size: int = 11
    messages: int = 20000
    requests: int = 5000
    repeat: int = 3
    #: Called with each row as soon as it is measured (and the run number, the runs per row).
    progress: Callable[[Row, int, int], None] | None = None

    def measured(self, row: Row, run: int = 1, runs: int = 1) -> Row:
        """Tells ``progress`` about ``row``; returns it."""
        if self.progress is not None:
            self.progress(row, run, runs)
        return row


@dataclass
class Scenario:
    """A named scenario: what it shows (for ``--help``) and the function that runs it."""

    name: str
    help: str
    run: Callable[[Options], list[Row]]


def cores() -> tuple[list[str], list[str]]:
    """``taskset`` prefixes for the server (core 0) and the load (core 1), if possible."""
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", "0"], ["taskset", "-c", "1"]
    return [], []


def env(backend: str | None, scale: float | None = None) -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("PRACTICA_TIMEOUT_SCALE", None)
    if backend is not None:
        env["UDPECO_BACKEND"] = backend
    if scale is not None:
        env["PRACTICA_TIMEOUT_SCALE"] = str(scale)
    return env


def free_ports(n: int, consecutive: bool = False) -> list[int]:
    """``n`` UDP ports free right now on every interface (consecutive if asked)."""
    for _ in range(200):
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("", 0))
        base = probe.getsockname()[1]
        probe.close()
        ports = list(range(base, base + n)) if consecutive else []
        socks = []
        try:
            if consecutive:
                for port in ports:
                    socks.append(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                    socks[-1].bind(("", port))
            else:
                for _ in range(n):
                    socks.append(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                    socks[-1].bind(("", 0))
                ports = [s.getsockname()[1] for s in socks]
            return ports
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free UDP ports")


def bound_udp_ports() -> set[int]:
    """Local ports of every UDP socket on the machine (from /proc/net/udp and udp6)."""
    have: set[int] = set()
    for name in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(name) as f:
                next(f)
                have |= {int(line.split()[1].rsplit(":", 1)[1], 16) for line in f}
        except OSError:
            pass
    return have


def wait_bound(
    ports: Iterable[int], proc: subprocess.Popen | None = None, limit: float = 10.0
) -> None:
    """Waits until every port has a bound socket; RuntimeError if ``proc`` exits first or
    after ``limit`` s."""
    want = set(ports)
    deadline = time.monotonic() + limit
    while not want <= bound_udp_ports():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before binding")
        if time.monotonic() > deadline:
            raise RuntimeError(f"ports {sorted(want)} not bound after {limit} s")
        time.sleep(0.02)


def die_with_parent() -> None:
    """``preexec_fn`` for every child: on Linux the child gets SIGTERM when the process that
    started it dies, even by SIGKILL (``PR_SET_PDEATHSIG``), so no lab server outlives
    ``udpeco compare``. Children are started from the main thread only (the signal follows the
    thread that started them)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


def start_server(
    cmd: list[str], backend: str | None, log: Any, scale: float | None = None
) -> subprocess.Popen[bytes]:
    """Starts a server ``cmd`` on the server core, its stdout and stderr into ``log`` (an open
    file), on ``backend`` (``None``: udpeco's own command) with the lab's times ``scale``d."""
    server_core, _ = cores()
    return subprocess.Popen(
        [*server_core, *cmd],
        preexec_fn=die_with_parent,
        stdout=log,
        stderr=log,
        env=env(backend, scale),
    )


def lab_cmd(program: str) -> list[str]:
    """The command line that runs a lab program (``servidor_eco_v1``...)."""
    return [sys.executable, "-m", f"udpeco.practica3.{program}"]


def udpeco_cmd(*args: object) -> list[str]:
    """The command line ``udpeco ARGS...`` (this interpreter's udpeco)."""
    return [sys.executable, "-m", "udpeco", *map(str, args)]


def last_json(text: str) -> dict[str, Any]:
    """The JSON object on the last line of ``text`` that holds one (``serve --json``)."""
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            return dict(json.loads(line))
    raise ValueError(f"no JSON object in the output: {text.strip()[-200:]!r}")


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Ends a server: SIGINT (Ctrl+C), then kill if it does not end."""
    if proc.poll() is None:
        proc.send_signal(2)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stop_with_dot(proc: subprocess.Popen, port: int, limit: float = 10.0) -> None:
    """Sends ``.`` to 127.0.0.1:PORT until the server ends (a '.' that arrives while the
    server's queue is full is dropped, so one is sent again every 0.5 s)."""
    deadline = time.monotonic() + limit
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        while proc.poll() is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not stop on '.' within {limit:g} s")
            s.sendto(b".", ("127.0.0.1", port))
            try:
                proc.wait(0.5)
            except subprocess.TimeoutExpired:
                pass


_EPHEMERAL = re.compile(r"127\.0\.0\.1:\d+")


def normalise(text: str) -> str:
    """A transcript without the client's ephemeral ports."""
    return _EPHEMERAL.sub("127.0.0.1:PORT", text)


def keep(text: str, payloads: list[str]) -> str:
    """Only the server lines about the scenario's own messages (not the load, not strangers)."""
    return "".join(
        line
        for line in text.splitlines(keepends=True)
        if line.rstrip("\n").endswith(tuple(payloads))
    )


def load(port: int, duration: float) -> tuple[float, str]:
    """Closed-loop load on 127.0.0.1:PORT from another process (core 1): ``(echoes/s, tool)``.

    ``udpeco bench --json`` (Rust), so the load is not the bottleneck.
    """
    _, load_core = cores()
    cmd = udpeco_cmd(
        "bench", "127.0.0.1", port, "--duration", duration, "--window", WINDOW, "--size", SIZE
    )
    out = subprocess.run(
        [*load_core, *cmd, "--json"],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        env=env(None),
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed: {out.stderr.strip().splitlines()[-1:]}")
    return float(last_json(out.stdout)["rate"]), "udpeco bench"


def run_client(program: str, args: list[object], backend: str, stdin: str, **kw) -> str:
    out = subprocess.run(
        [*lab_cmd(program), *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env(backend, kw.get("scale")),
        check=False,
    )
    return out.stdout + out.stderr


def best_of(opts: Options, runners: list[tuple[str, Callable[[], Row]]]) -> list[Row]:
    """Runs every runner ``opts.repeat`` times, interleaved, and keeps each one's best run.

    The machine is shared: interleaving and best-of keep a passing load from deciding a ratio.
    """
    best: dict[str, Row] = {}
    for run in range(1, opts.repeat + 1):
        for name, fn in runners:
            row = opts.measured(fn(), run, opts.repeat)
            old = best.get(name)
            if old is None or old.figure is None:
                best[name] = row
            elif row.figure is not None:
                better = row.figure < old.figure if row.unit == "s" else row.figure > old.figure
                if better:
                    best[name] = row
    for row in best.values():
        if row.figure is not None and opts.repeat > 1:
            row.note += f"; best of {opts.repeat}"
    return [best[name] for name, _ in runners]
