"""The checker's process handling: tracebacks, Ctrl+C, floods, process groups, broken workers."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from udpeco.check import runner
from udpeco.check.proc import KEEP, Program


def start(tmp_path, code: str, *, flood: int | None = 1024 * 1024) -> Program:
    path = tmp_path / "prog.py"
    path.write_text(code)
    return Program(sys.executable, str(path), cwd=str(tmp_path), home=str(tmp_path), flood=flood)


def test_a_traceback_of_its_own_is_reported(tmp_path) -> None:
    prog = start(tmp_path, "print('hola')\nraise ValueError('mal')\n")
    assert prog.wait(10)
    prog.stop()
    assert prog.traceback() == "ValueError: mal"
    assert prog.out.text == "hola\n"


def test_the_checkers_ctrl_c_is_not_held_against_a_server(tmp_path) -> None:
    prog = start(tmp_path, "import time\nprint('listo')\ntime.sleep(60)\n")
    assert prog.out.wait_for("listo", 10) == 0
    prog.stop()
    assert "KeyboardInterrupt" in prog.err.text  # Python printed its traceback...
    assert prog.traceback() == ""  # ...which the checker caused: not reported
    assert prog.stopped_by_checker()


def test_stop_kills_the_whole_group(tmp_path) -> None:
    code = (
        "import signal, subprocess, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"  # ignores Ctrl+C: SIGKILL follows
        "child = subprocess.Popen(['sleep', '60'])\n"
        "print(child.pid)\n"
        "time.sleep(60)\n"
    )
    prog = start(tmp_path, code)
    i = prog.out.wait_for("", 10)
    assert i == 0
    child = int(prog.out.snapshot()[0][1])
    began = time.monotonic()
    prog.stop(grace=0.5)
    assert time.monotonic() - began < 5
    assert not prog.alive()
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{child}") and time.monotonic() < deadline:
        with open(f"/proc/{child}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":  # a zombie: dead, not reaped
                break
        time.sleep(0.02)
    else:
        assert not os.path.exists(f"/proc/{child}")


def test_a_flood_is_bounded_and_seen(tmp_path) -> None:
    prog = start(tmp_path, "while True:\n    print('x' * 99)\n")
    deadline = time.monotonic() + 20
    while not prog.flooded() and time.monotonic() < deadline:
        time.sleep(0.05)
    prog.stop()
    assert prog.flooded()
    assert len(prog.out.data) <= KEEP  # kept bounded while the rest was drained


def test_bound_ports_are_read_from_proc(tmp_path) -> None:
    code = (
        "import socket, time\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "s.bind(('127.0.0.1', 0))\n"
        "print(s.getsockname()[1])\n"
        "time.sleep(60)\n"
    )
    prog = start(tmp_path, code)
    assert prog.out.wait_for("", 10) == 0
    port = int(prog.out.snapshot()[0][1])
    assert prog.wait_bound(None, 10) == {port}
    prog.stop()


def test_a_broken_worker_is_not_checkable_never_a_fail() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    result = runner._collect(({"exercise": "v3"}, proc, time.monotonic()), "en")
    assert result["status"] == "not_checkable"
    assert {c["status"] for c in result["checks"]} == {"not_checkable"}
    assert result["checks"][0]["reason"] == "checker error: boom"


def test_programs_die_with_the_checker(tmp_path) -> None:
    """A checker killed with SIGKILL (no cleanup at all) takes its programs with it."""
    (tmp_path / "prog.py").write_text("import time\ntime.sleep(60)\n")
    checker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from udpeco.check.proc import Program\n"
            f"p = Program(sys.executable, {str(tmp_path / 'prog.py')!r}, cwd='.', home='.')\n"
            "print(p.pid, flush=True)\n"
            "time.sleep(60)\n",
        ],
        cwd=str(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    pid = int(checker.stdout.readline())
    checker.kill()
    checker.wait(5)
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not os.path.exists(f"/proc/{pid}")
