"""The lab checks' helpers and fixtures (conftest.py re-exports the fixtures and hooks).

Run a lab program on a backend, talk to it, read what it prints.

Every scenario runs on both backends (``backend`` fixture: ``python`` = stdlib socket/select,
``rust`` = udpeco's drop-ins). Transcripts are compared exactly, after :func:`normalise`
replaces the client's ephemeral port, so both backends must print the same text.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator

import pytest
from echo_helpers import read_line

# The port helpers' one home is udpeco.compare.harness (re-exported for the lab tests).
from udpeco.compare.harness import bound_udp_ports as bound_udp_ports
from udpeco.compare.harness import free_ports as free_ports
from udpeco.compare.harness import wait_bound as wait_bound

BACKENDS = ("python", "rust")


def _rust_available() -> bool:
    try:
        import udpeco
    except ImportError:
        return False
    return hasattr(udpeco, "socket") and hasattr(udpeco, "select")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The value of ``UDPECO_BACKEND`` for this run of the scenario."""
    if request.param == "rust" and not _rust_available():
        pytest.skip("udpeco.socket/udpeco.select are not in this build")
    return request.param


def backends() -> list[str]:
    """The backends a test that runs both at once (in parallel) should use."""
    return [b for b in BACKENDS if b == "python" or _rust_available()]


class Lab:
    """Starts lab programs as real processes and makes sure none outlives the test."""

    def __init__(self, cwd: str) -> None:
        self.cwd = cwd
        self.procs: list[subprocess.Popen] = []

    def start(
        self,
        program: str,
        *args: object,
        backend: str,
        scale: float | None = None,
        stdin: int | None = subprocess.DEVNULL,
        script: bool = False,
    ) -> subprocess.Popen:
        """Runs ``python -m udpeco.practica3.PROGRAM ARGS`` (or the file, if ``script``)."""
        env = dict(os.environ, UDPECO_BACKEND=backend, PYTHONUNBUFFERED="1")
        env.pop("PRACTICA_TIMEOUT_SCALE", None)
        if scale is not None:
            env["PRACTICA_TIMEOUT_SCALE"] = str(scale)
        if script:
            import udpeco.practica3

            path = os.path.join(os.path.dirname(udpeco.practica3.__file__), program + ".py")
            cmd = [sys.executable, path]
        else:
            cmd = [sys.executable, "-m", f"udpeco.practica3.{program}"]
        proc = subprocess.Popen(
            cmd + [str(a) for a in args],
            cwd=self.cwd,
            env=env,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.procs.append(proc)
        return proc

    def run(self, program: str, *args: object, backend: str, input: str = "", **kw):
        """Runs a program to its end with ``input`` on stdin: ``(rc, stdout, stderr)``."""
        proc = self.start(program, *args, backend=backend, stdin=subprocess.PIPE, **kw)
        out, err = proc.communicate(input, timeout=60)
        return proc.returncode, out, err

    def ncat(self, port: int, *lines: str) -> subprocess.Popen:
        """Starts ``ncat -u 127.0.0.1 PORT`` (a netcat client), returns once its socket exists
        (a server need not be up yet), after typing ``lines`` with :meth:`echo_lines`."""
        from udpeco.check.proc import udp_sockets

        nc = subprocess.Popen(
            ["ncat", "-u", "127.0.0.1", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.procs.append(nc)
        deadline = time.monotonic() + 20
        while not udp_sockets(nc.pid):
            assert nc.poll() is None, "ncat exited"
            assert time.monotonic() < deadline, "ncat made no socket in 20 s"
            time.sleep(0.01)
        self.echo_lines(nc, *lines)
        return nc

    @staticmethod
    def echo_lines(nc: subprocess.Popen, *lines: str) -> None:
        """Types each line into ``nc`` once the previous one's echo came back (ncat sends all
        it has read at once, so lines typed back to back can leave as one datagram), skipping
        foreign datagrams ncat printed."""
        for line in lines:
            nc.stdin.write(line + "\n")
            nc.stdin.flush()
            assert any(read_line(nc.stdout).decode().endswith(line + "\n") for _ in range(5)), line

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.stdin is not None and proc.stdin.closed:
                proc.stdin = None
            if proc.poll() is None:
                proc.kill()
            try:
                proc.communicate(timeout=5)
            except (subprocess.TimeoutExpired, ValueError):
                pass


@pytest.fixture
def lab(tmp_path) -> Iterator[Lab]:
    """A :class:`Lab` whose programs run in ``tmp_path`` and are killed at the end."""
    runner = Lab(str(tmp_path))
    yield runner
    runner.cleanup()


def finish(proc: subprocess.Popen, timeout: float = 10.0) -> tuple[int, str, str]:
    """Waits for ``proc`` to end by itself: ``(rc, stdout, stderr)``."""
    if proc.stdin is not None and proc.stdin.closed:
        proc.stdin = None  # communicate() would try to flush it
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def interrupt(
    proc: subprocess.Popen, timeout: float = 5.0, settle: float = 0.1
) -> tuple[int, str, str]:
    """Ctrl+C: sends SIGINT and waits for the end: ``(rc, stdout, stderr)``.

    It waits ``settle`` s first: the v1/v2 servers print a message just after echoing it, so a
    client can have its echo a moment before the server's line is written.
    """
    time.sleep(settle)
    proc.send_signal(signal.SIGINT)
    return finish(proc, timeout)


class Peer:
    """The test's own UDP peer (stdlib socket on 127.0.0.1, 5 s timeout)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5.0)

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def send(self, data: bytes, port: int) -> None:
        self.sock.sendto(data, ("127.0.0.1", port))

    def recv(self) -> tuple[bytes, tuple[str, int]]:
        return self.sock.recvfrom(65535)

    def echo(self, data: bytes, port: int) -> bytes:
        """Sends ``data`` and returns the answer, which must come from ``port``."""
        self.send(data, port)
        reply, addr = self.recv()
        assert addr == ("127.0.0.1", port)
        return reply

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def peer() -> Iterator[Peer]:
    p = Peer()
    yield p
    p.close()


_EPHEMERAL = re.compile(r"127\.0\.0\.1:\d+")
_EPHEMERAL_TUPLE = re.compile(r"\('127\.0\.0\.1', \d+\)")
_TIME = re.compile(r"^\d+\.\d+(?=\[)", re.M)


def normalise(text: str) -> str:
    """A transcript without what changes from run to run: client ports and ``time.time()``."""
    text = _EPHEMERAL.sub("127.0.0.1:PORT", text)
    text = _EPHEMERAL_TUPLE.sub("('127.0.0.1', PORT)", text)
    return _TIME.sub("TIME", text)


_MESSAGE = re.compile(
    r"^(Message\[[^\]]*\] - |recibido (en mi socket .*? desde el origen|desde) \S+: )(.*)$"
)


def ours(text: str, payloads: Iterable[str]) -> str:
    """``text`` without the lines for datagrams the test did not send.

    Other processes on this shared machine scan loopback ports (nmap, udpeco scan tests);
    their probes reach our servers too. A message line whose payload is not one the test sent
    is dropped (with the blank line v3 prints after some lines).
    """
    keep = set(payloads)
    out = []
    for line in text.splitlines(keepends=True):
        m = _MESSAGE.match(line.rstrip("\n"))
        if m and m.group(3) not in keep:
            continue
        out.append(line)
    return "".join(out)


def watch(procs: list[subprocess.Popen], limit: float) -> tuple[float, dict[int, list]]:
    """Reads the stdout lines of ``procs`` as they come, until all end (or ``limit`` s).

    Returns the start time and, per pid, the ``(seconds since start, line)`` pairs.
    """
    import select as stdlib_select

    start = time.monotonic()
    lines: dict[int, list] = {p.pid: [] for p in procs}
    pending = {p.stdout.fileno(): p for p in procs}
    partial = {fd: b"" for fd in pending}
    while pending and time.monotonic() - start < limit:
        ready, _, _ = stdlib_select.select(list(pending), [], [], 0.5)
        now = time.monotonic() - start
        for fd in ready:
            chunk = os.read(fd, 65536)
            data = partial[fd] + chunk
            *complete, partial[fd] = data.split(b"\n")
            if not chunk:  # end of file: what is left is the last line
                complete, partial[fd] = [*complete, partial[fd]] if partial[fd] else complete, b""
            pid = pending[fd].pid
            lines[pid].extend((now, part.decode("utf-8") + "\n") for part in complete)
            if not chunk:
                del pending[fd]
    return start, lines


def after_last_datagram(timed: list, marker: str) -> tuple[float, list]:
    """The time of the last line containing ``marker`` (0 if none) and the lines after it.

    On this shared machine a foreign datagram (another process scanning loopback) restarts a
    silence count; timings are checked from the last datagram the server printed.
    """
    t0, rest = 0.0, list(timed)
    for i, (t, line) in enumerate(timed):
        if marker in line:
            t0, rest = t, timed[i + 1 :]
    return t0, rest


def no_traceback(err: str) -> None:
    """The program's stderr has no Python traceback."""
    assert "Traceback" not in err, err


# ----------------------------------------------------------------------------------------
# Slow runs start in the background when the session begins (at collection), so that the rest
# of the suite runs meanwhile; their tests only collect the results.
#
# - The práctica's clauses (udpeco.check's clause library, each clause defined once) on
#   udpeco's own programs, on each backend, with the práctica's real times.
# - The Rust engine doing exercise 9's job (`udpeco serve --silence 5 --idle-timeout 20`).

CLAUSES_TEST = "test_practica_clauses"
ENGINE_TEST = "test_practica_timings_on_the_rust_engine"


class ClauseRuns:
    """``udpeco check``'s clauses on a copy of udpeco's práctica programs, per backend, all
    at once (each exercise in its own network namespace when possible).

    ``python``: run as a student's would be (plain ``python3``, a clean environment);
    ``rust``: on udpeco's drop-ins (``UDPECO_BACKEND=rust``).
    """

    def __init__(self) -> None:
        import shutil
        import tempfile
        import threading

        import udpeco.practica3
        from udpeco.check.library import EXERCISES
        from udpeco.check.runner import (
            check_folder,
            default_python,
            netns_prefix,
            resolve_python,
        )

        self.tmp = tempfile.mkdtemp(prefix="lab-clauses-")
        src = os.path.dirname(udpeco.practica3.__file__)
        for name in os.listdir(src):
            if name.startswith(("servidor_", "cliente_", "select_stdin", "backend")):
                shutil.copy(os.path.join(src, name), self.tmp)
        prefix = netns_prefix()
        self.isolation = "netns" if prefix else "sequential"
        self.reports: dict[str, dict] = {}

        def run(backend: str) -> None:
            if backend == "python":
                # As a student runs them: the plain python3 (no udpeco), nothing in the
                # environment (backend.py then uses the stdlib socket and select).
                python, env = resolve_python(default_python())[0], None
            else:
                # The interpreter where udpeco is installed, on udpeco's drop-ins.
                python, env = sys.executable, {"UDPECO_BACKEND": backend}
            self.reports[backend] = check_folder(
                self.tmp, list(EXERCISES), python, "en", isolation=prefix, env=env
            )

        self.threads = {b: threading.Thread(target=run, args=(b,), daemon=True) for b in backends()}
        for t in self.threads.values():
            t.start()

    def report(self, backend: str) -> dict:
        """The report of ``backend``'s run, once it has ended."""
        self.threads[backend].join(300)
        return self.reports[backend]

    def close(self) -> None:
        import shutil

        shutil.rmtree(self.tmp, ignore_errors=True)


class EngineBackground:
    """`udpeco serve` with v3's silence message and exercise 9's idle timeout, at the
    práctica's values, watched by a thread."""

    def __init__(self) -> None:
        import tempfile
        import threading

        self.lab = Lab(tempfile.mkdtemp(prefix="lab-engine-"))
        self.peer = Peer()
        p1, p2 = free_ports(2)
        cmd = [sys.executable, "-m", "udpeco", "serve", "--bind", "127.0.0.1"]
        cmd += ["--port", str(p1), "--port", str(p2), "--silence", "5", "--idle-timeout", "20"]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8"
        )
        self.lab.procs.append(proc)
        self.engine = (proc, p1, p2)
        wait_bound([p1, p2], proc)
        # The 20 s count from this datagram (the server prints it).
        assert self.peer.echo(b"empieza", p2) == b"empieza"
        self.result: tuple[float, dict[int, list]] | None = None
        self.engine_end: float | None = None
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        self.result = watch([self.engine[0]], limit=60)
        self.engine[0].wait(5)
        # Every stdout line has been read; the engine's exit is within a tick of its EOF.
        self.engine_end = time.monotonic() - self.result[0]

    def wait(self) -> dict[int, list]:
        """The timed lines per pid, once the engine has ended (or 60 s passed)."""
        self.thread.join(65)
        assert self.result is not None
        return self.result[1]

    def close(self) -> None:
        self.lab.cleanup()
        self.peer.close()


_background: dict[str, object] = {}


def pytest_collection_modifyitems(session, config, items) -> None:
    if config.option.collectonly:
        return
    names = {item.originalname for item in items}
    # The tests that collect background results run last, while the rest run meanwhile.
    items.sort(key=lambda item: item.originalname in (CLAUSES_TEST, ENGINE_TEST))
    if CLAUSES_TEST in names:
        _background["clauses"] = ClauseRuns()
    if ENGINE_TEST in names and _rust_available():
        _background["engine"] = EngineBackground()


def pytest_sessionfinish(session, exitstatus) -> None:
    for bg in _background.values():
        bg.close()  # type: ignore[attr-defined]


@pytest.fixture
def clause_runs() -> ClauseRuns:
    """The background clause runs started when the session began."""
    return _background["clauses"]  # type: ignore[return-value]


@pytest.fixture
def engine_background() -> EngineBackground:
    """The background `udpeco serve` run started when the session began."""
    if "engine" not in _background:
        pytest.skip("udpeco's compiled engine is not installed")
    return _background["engine"]  # type: ignore[return-value]
