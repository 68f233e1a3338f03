"""Checking one student's folder: finding programs, isolating exercises, gathering verdicts.

Each exercise runs in a worker process (:mod:`udpeco.check._worker`). When network namespaces
can be made (root, or an unprivileged user namespace: ``unshare --net --map-root-user``) every
worker gets its own, with its own loopback, and all run at once: v1, v2 and final 2 can all
bind port 44444. Otherwise they run one after the other on the machine's loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from udpeco.check.library import EXERCISES, FILES
from udpeco.check.model import FAIL, MISSING, NOT_CHECKABLE, PASS

#: A worker that has not answered after this many seconds is stopped.
WORKER_DEADLINE = 120.0


class UserError(Exception):
    """A mistake in what the user asked (one line, exit code 2)."""


def default_python() -> str:
    """The ``python3`` a student runs in a terminal: the first on PATH outside the virtualenv
    udpeco itself runs from (whose site-packages hold udpeco)."""
    skip = {os.path.realpath(p) for p in (sys.prefix, os.environ.get("VIRTUAL_ENV", "")) if p}
    in_venv = sys.prefix != sys.base_prefix or bool(os.environ.get("VIRTUAL_ENV"))
    for d in os.environ.get("PATH", "").split(os.pathsep):
        real = os.path.realpath(d or ".")
        if in_venv and any(real == s or real.startswith(s + os.sep) for s in skip if s != "/"):
            continue
        exe = os.path.join(d, "python3")
        if os.path.isfile(exe) and os.access(exe, os.X_OK):
            return exe
    fallback = os.path.join(sys.base_prefix, "bin", "python3")
    if os.path.isfile(fallback):
        return fallback
    raise UserError("no python3 on PATH; give one with --python")


def resolve_python(exe: str) -> tuple[str, str]:
    """``(interpreter path, version)`` of ``exe``; UserError if it is not a working Python 3.

    The path is the interpreter's own ``sys.executable``: a launcher such as a pyenv shim is
    resolved once, so that every program starts as fast as the interpreter itself.
    """
    found = shutil.which(exe) if os.sep not in exe else exe
    if not found:
        raise UserError(f"--python {exe}: not found")
    code = "import sys; print(sys.version.split()[0]); print(sys.executable)"
    try:
        r = subprocess.run([found, "-c", code], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UserError(f"--python {exe}: cannot run it ({e})") from None
    lines = r.stdout.split("\n")
    if r.returncode != 0 or not r.stdout.startswith("3.") or len(lines) < 2:
        raise UserError(f"--python {exe}: not a Python 3 interpreter")
    return (lines[1].strip() or found), lines[0].strip()


def netns_prefix() -> list[str] | None:
    """The command prefix that runs a worker in a new network namespace, or None."""
    if not shutil.which("unshare"):
        return None
    tries = [["unshare", "--net"]] if os.geteuid() == 0 else []
    tries.append(["unshare", "--net", "--map-root-user"])
    for prefix in tries:
        try:
            r = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0:
            return prefix
    return None


def find_programs(paths: list[str]) -> tuple[str, set[str] | None]:
    """The student's folder, and the file names given explicitly (None: the whole folder)."""
    folders, files = set(), set()
    for p in paths or ["."]:
        if os.path.isdir(p):
            folders.add(os.path.realpath(p))
        elif os.path.isfile(p):
            folders.add(os.path.dirname(os.path.realpath(p)))
            files.add(os.path.basename(p))
        else:
            raise UserError(f"{p}: no such file or folder")
    if len(folders) != 1:
        raise UserError("give one folder (or files of one folder)")
    folder = folders.pop()
    unknown = files - set(FILES)
    if unknown:
        raise UserError(
            f"{sorted(unknown)[0]}: not a file name of the práctica "
            f"(expected one of: {', '.join(FILES)})"
        )
    return folder, (files or None)


def select_exercises(folder: str, files: set[str] | None, wanted: list[str]) -> list[str]:
    for ex_id in wanted:
        if ex_id not in EXERCISES:
            raise UserError(f"--exercise {ex_id}: unknown (one of: {', '.join(EXERCISES)})")
    chosen = wanted or list(EXERCISES)
    if files is not None:
        chosen = [e for e in chosen if set(EXERCISES[e].files) & files]
    return chosen


def check_folder(
    folder: str,
    exercises: list[str],
    python: str,
    lang: str,
    final2_file: str | None = None,
    student: str | None = None,
    isolation: list[str] | None | bool = True,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Checks ``exercises`` of the student's ``folder``: the report dict (see docs/check.md).

    ``isolation``: True to detect, or the netns prefix / None (sequential) already detected.
    ``env``: variables added to the programs' clean environment (none for a student).
    """
    start = time.monotonic()
    prefix = netns_prefix() if isolation is True else isolation
    assert prefix is not True
    found = {f for f in FILES if os.path.isfile(os.path.join(folder, f))}
    results: dict[str, dict[str, Any]] = {}
    jobs = []
    # The workers' temp folders live here; removed at the end whatever happens (Ctrl+C too).
    tmp_root = tempfile.mkdtemp(prefix="udpeco-check-")
    for ex_id in exercises:
        args: dict[str, Any] = {
            "exercise": ex_id,
            "folder": folder,
            "python": python,
            "lang": lang,
            "final2_file": final2_file,
            "env": env or {},
            "tmp": tmp_root,
        }
        if not set(EXERCISES[ex_id].files) & found:  # nothing of it there: not run at all
            from udpeco.check._worker import run_exercise

            results[ex_id] = run_exercise(args)
        else:
            jobs.append(args)
    jobs.sort(key=lambda a: -EXERCISES[a["exercise"]].seconds)
    try:
        if prefix:
            running = [_spawn(a, prefix) for a in jobs]
            for job in running:
                results[job[0]["exercise"]] = _collect(job, lang)
        else:
            for a in jobs:
                results[a["exercise"]] = _collect(_spawn(a, None), lang)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    ordered = [results[e] for e in exercises]
    states = {r["status"] for r in ordered}
    status = (
        FAIL
        if FAIL in states
        else PASS
        if PASS in states
        else (NOT_CHECKABLE if NOT_CHECKABLE in states else MISSING)
    )
    return {
        "student": student,
        "path": folder,
        "python": python,
        "isolation": "netns" if prefix else "sequential",
        "lang": lang,
        "duration_s": round(time.monotonic() - start, 2),
        "status": status,
        "exercises": ordered,
    }


Job = tuple[dict[str, Any], subprocess.Popen, float]
#: Workers running now (stopped all at once by :func:`stop_all`, e.g. on Ctrl+C).
LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


def stop_all() -> None:
    """Stops every running worker: SIGTERM (it stops its programs and removes its temp
    folder), then SIGKILL after 2 s (its programs die with it: PR_SET_PDEATHSIG)."""
    with _LIVE_LOCK:
        procs = list(LIVE)
    for proc in procs:
        _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + 2.0
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _spawn(args: dict[str, Any], prefix: list[str] | None) -> Job:
    host = EXERCISES[args["exercise"]].host
    use_ns = bool(prefix) and not host
    args = dict(args, netns=use_ns)
    cmd = [
        *(prefix if use_ns and prefix else []),
        sys.executable,
        "-m",
        "udpeco.check._worker",
        json.dumps(args),
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    with _LIVE_LOCK:
        LIVE.add(proc)
    return args, proc, time.monotonic()


def _collect(job: Job, lang: str) -> dict[str, Any]:
    args, proc, started = job
    try:
        left = WORKER_DEADLINE - (time.monotonic() - started)
        out, err = proc.communicate(timeout=max(1.0, left))
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            out, err = proc.communicate()
        return _broken(args, lang, f"timeout {WORKER_DEADLINE:g} s")
    except BaseException:  # Ctrl+C: this worker and every other one stop now
        stop_all()
        raise
    finally:
        if proc.returncode is not None:
            with _LIVE_LOCK:
                LIVE.discard(proc)
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        last = err.strip().splitlines()[-1] if err.strip() else f"exit code {proc.returncode}"
        return _broken(args, lang, last)


def _broken(args: dict[str, Any], lang: str, why: str) -> dict[str, Any]:
    """The record of an exercise whose worker failed (the checker's fault, not the student's)."""
    ex = EXERCISES[args["exercise"]]
    reason = ("error del comprobador: " if lang == "es" else "checker error: ") + why
    checks = [
        {
            "id": c.id,
            "title": c.title(lang),
            "status": NOT_CHECKABLE,
            "reason": reason,
            "expected": "",
            "got": "",
            "quote": c.quote,
            "duration_s": 0.0,
        }
        for c in ex.clauses
    ]
    return {
        "id": ex.id,
        "title": ex.title(lang),
        "files": list(ex.files),
        "status": NOT_CHECKABLE,
        "checks": checks,
    }
