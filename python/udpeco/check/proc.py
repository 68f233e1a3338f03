"""A student's program as a real process: started, watched, and always stopped.

Each :class:`Program` runs ``PYTHON -u FILE ARGS`` in its own process group (its own session),
with a clean environment (nothing of udpeco, no virtualenv), in the folder of the student's
copy. Its stdout and stderr are drained by threads into bounded buffers, each line with the
time it arrived, so that a program that floods its output can neither fill the checker's
memory nor block on a full pipe (which would hide a busy loop). :meth:`Program.stop` is Ctrl+C
first (the práctica stops its servers with control+c), then SIGKILL for the whole group.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence

#: Bytes of output kept per stream; more is counted and dropped.
KEEP = 256 * 1024
#: Bytes of output after which a program is said to flood its output.
FLOOD = 1024 * 1024
#: Environment variables a student's program keeps (everything else is dropped).
KEEP_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TZ", "USER", "LOGNAME")

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
#: Prefix that makes a program die (SIGKILL) when the checker that started it dies
#: (PR_SET_PDEATHSIG, kept across exec), from util-linux; no preexec_fn in a threaded process.
_DIE_WITH_US: tuple[str, ...] = (
    ("setpriv", "--pdeathsig", "KILL") if shutil.which("setpriv") else ()
)


def _wait_exec(pid: int, wrapper: str, limit: float = 5.0) -> None:
    """Waits until process ``pid`` no longer runs ``wrapper`` (it has exec'd the program, or
    ended): ``setpriv`` sets the death signal just before its exec, so a checker killed right
    after starting a program would otherwise leave it running."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0", 1)[0]
        except OSError:
            return  # gone already
        if not argv0 or os.path.basename(argv0).decode(errors="replace") != wrapper:
            return  # exec'd (or a zombie, whose cmdline is empty)
        time.sleep(0.001)


def clean_env(home: str) -> dict[str, str]:
    """The environment a student's program gets: the basics, UTF-8, no Python knobs."""
    env = {k: v for k, v in os.environ.items() if k in KEEP_ENV}
    venv = os.environ.get("VIRTUAL_ENV")
    if venv and "PATH" in env:  # the checker's own virtualenv is not the student's
        env["PATH"] = os.pathsep.join(
            p for p in env["PATH"].split(os.pathsep) if not p.startswith(venv)
        )
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["HOME"] = home
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONIOENCODING"] = "utf-8"
    return env


class Stream:
    """One output stream of a program, drained by a thread: bounded text and timed lines."""

    def __init__(self, fd: int, start: float) -> None:
        self.fd = fd
        self.start = start
        self.data = bytearray()
        self.total = 0
        self.lines: list[tuple[float, str]] = []  # (seconds since start, line without \n)
        self.eof = threading.Event()
        self._partial = b""
        self._lock = threading.Condition()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                chunk = b""
            now = time.monotonic() - self.start
            with self._lock:
                if not chunk:
                    if self._partial and self.total <= KEEP:
                        self.lines.append((now, self._partial.decode("utf-8", "replace")))
                    self._partial = b""
                    self.eof.set()
                    self._lock.notify_all()
                    break
                self.total += len(chunk)
                if len(self.data) < KEEP:
                    part = chunk[: KEEP - len(self.data)]
                    self.data += part
                    *whole, self._partial = (self._partial + part).split(b"\n")
                    self.lines.extend((now, w.decode("utf-8", "replace")) for w in whole)
                self._lock.notify_all()
        os.close(self.fd)

    @property
    def text(self) -> str:
        with self._lock:
            return self.data.decode("utf-8", "replace")

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float, since: int = 0) -> int:
        """Index of the first line (from ``since``) matching ``pattern``, or -1 after ``timeout``.

        A ``str`` pattern is a substring; a compiled one is searched.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for i in range(since, len(self.lines)):
                    line = self.lines[i][1]
                    hit = pattern in line if isinstance(pattern, str) else pattern.search(line)
                    if hit:
                        return i
                since = max(since, len(self.lines))
                left = deadline - time.monotonic()
                if left <= 0 or self.eof.is_set():
                    return -1
                self._lock.wait(min(left, 0.1))

    def snapshot(self) -> list[tuple[float, str]]:
        with self._lock:
            return list(self.lines)


class Program:
    """A student's program running as its own process group."""

    def __init__(
        self,
        python: str,
        path: str,
        args: Sequence[object] = (),
        *,
        cwd: str,
        home: str,
        prefix: Sequence[str] = (),
        stdin: bool = True,
        flood: int | None = FLOOD,
        env: dict[str, str] | None = None,
    ) -> None:
        self.flood = flood
        self.name = os.path.basename(path)
        self.cmd = [*_DIE_WITH_US, *prefix, python, "-u", path, *(str(a) for a in args)]
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        self.start = time.monotonic()
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=cwd,
            env={**clean_env(home), **(env or {})},
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=out_w,
            stderr=err_w,
            start_new_session=True,
            close_fds=True,
        )
        os.close(out_w)
        os.close(err_w)
        if _DIE_WITH_US:
            _wait_exec(self.proc.pid, _DIE_WITH_US[0])
        for fd in (out_r, err_r):  # room for bursts while the drain thread waits for a CPU
            try:
                fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ
            except OSError:
                pass
        self.pid = self.proc.pid
        self.out = Stream(out_r, self.start)
        self.err = Stream(err_r, self.start)
        self.sigint_at: float | None = None  # when the checker pressed Ctrl+C
        self.end: float | None = None  # seconds since start when it ended

    # -- input -------------------------------------------------------------------------
    def type(self, text: str) -> bool:
        """Writes ``text`` on the program's stdin (False if it is closed or gone)."""
        if self.proc.stdin is None:
            return False
        try:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, ValueError, OSError):
            return False

    def close_stdin(self) -> None:
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    # -- state -------------------------------------------------------------------------
    def alive(self) -> bool:
        if self.proc.poll() is None:
            return True
        if self.end is None:
            self.end = time.monotonic() - self.start
        return False

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def wait(self, timeout: float) -> bool:
        """Waits up to ``timeout`` s for the program to end by itself; True if it did."""
        try:
            self.proc.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            return False
        self.alive()
        return True

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far (from /proc/PID/stat); -1 once it is gone."""
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return -1.0
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK

    def busy_seconds(self) -> float:
        """Seconds on a CPU or waiting for one (/proc/PID/schedstat); -1 once it is gone.

        A busy loop is always running or runnable, so this grows with the wall clock even on
        a loaded machine where the loop gets only a share of a core.
        """
        try:
            with open(f"/proc/{self.pid}/schedstat") as f:
                run_ns, wait_ns = f.read().split()[:2]
        except (OSError, ValueError):
            return -1.0
        return (int(run_ns) + int(wait_ns)) / 1e9

    def flooded(self) -> bool:
        return self.flood is not None and self.out.total + self.err.total > self.flood

    def udp_ports(self) -> set[int]:
        """Local ports of the UDP sockets this process holds (its fds and its netns)."""
        return {port for port, _ in udp_sockets(self.pid)}

    def wait_bound(self, ports: Iterable[int] | None, timeout: float) -> set[int]:
        """Waits until the program holds UDP sockets on every port of ``ports`` (or on any
        port, when None). Returns the ports it holds then (maybe too few)."""
        want = set(ports) if ports is not None else set()
        deadline = time.monotonic() + timeout
        while True:
            have = self.udp_ports()
            if (want and want <= have) or (not want and have):
                return have
            if not self.alive() or time.monotonic() > deadline:
                return have
            time.sleep(0.02)

    # -- the end -----------------------------------------------------------------------
    def stop(self, grace: float = 1.5) -> None:
        """Ctrl+C (SIGINT to the group), then SIGKILL after ``grace`` s; waits for the drain."""
        if self.alive():
            self.sigint_at = time.monotonic() - self.start
            _killpg(self.pid, signal.SIGINT)
            if not self.wait(grace):
                _killpg(self.pid, signal.SIGKILL)
                self.wait(5)
        _killpg(self.pid, signal.SIGKILL)  # anything the program left in its group
        self.close_stdin()
        self.out.eof.wait(2)
        self.err.eof.wait(2)

    def kill(self) -> None:
        _killpg(self.pid, signal.SIGKILL)
        self.wait(5)
        self.stop(0)

    def stopped_by_checker(self) -> bool:
        return self.sigint_at is not None

    def traceback(self) -> str:
        """The last line of a Python traceback the program printed by itself ("" if none).

        A ``KeyboardInterrupt`` traceback after the checker's own Ctrl+C is not the program's
        fault (the práctica stops its servers with control+c) and is not reported.
        """
        lines = self.err.snapshot()
        found = ""
        for i, (t, line) in enumerate(lines):
            if not line.startswith("Traceback (most recent call last):"):
                continue
            last = ""
            for _, follow in lines[i + 1 :]:
                if follow and not follow.startswith((" ", "\t")):
                    last = follow
                    break
            caused_by_us = self.sigint_at is not None and t >= self.sigint_at - 0.05
            if caused_by_us and last.startswith("KeyboardInterrupt"):
                continue
            found = last or "Traceback"
        return found

    def stdout_after(self, t: float) -> list[str]:
        return [line for when, line in self.out.snapshot() if when >= t]


def _killpg(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def udp_sockets(pid: int) -> list[tuple[int, str]]:
    """``(local port, local address hex)`` of each UDP socket process ``pid`` holds."""
    inodes = _socket_inodes(pid)
    found = []
    for table in ("udp", "udp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if len(cols) > 9 and int(cols[9]) in inodes:
                        addr, port = cols[1].rsplit(":", 1)
                        found.append((int(port, 16), addr))
        except (OSError, StopIteration):
            continue
    return found


def holds_packet_socket(pid: int) -> bool:
    """True when process ``pid`` holds an AF_PACKET socket (a capture is listening)."""
    inodes = _socket_inodes(pid)
    try:
        with open(f"/proc/{pid}/net/packet") as f:
            next(f)
            return any(int(line.split()[-1]) in inodes for line in f if line.split())
    except (OSError, StopIteration, ValueError):
        return False
