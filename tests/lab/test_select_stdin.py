"""The select-on-stdin example: ``select.select([sys.stdin], [], [], 3)``."""

from __future__ import annotations

import subprocess
import time

from labkit import finish, normalise

STDIN = "[<_io.TextIOWrapper name='<stdin>' mode='r' encoding='utf-8'>]"


def test_typed_line_is_read(lab, backend):
    proc = lab.start("select_stdin", backend=backend, stdin=subprocess.PIPE)
    time.sleep(0.3)
    start = time.monotonic()
    proc.stdin.write("hola\n")
    proc.stdin.flush()
    rc, out, err = finish(proc)
    assert time.monotonic() - start < 2.0
    assert (rc, err) == (0, "")
    # select returns the very object it was given (sys.stdin), on either backend.
    assert normalise(out) == f"Escribe algo (tienes 3 seg):\nTIME{STDIN}\nhola\n"


def test_short_limit(lab, backend):
    proc = lab.start("select_stdin", backend=backend, scale=0.1, stdin=subprocess.PIPE)
    out = proc.stdout.read()  # until it exits, stdin kept open and empty
    rc, _, err = finish(proc)
    assert (rc, err) == (1, "")
    assert normalise(out).endswith("TIME[]\nHan pasado 0.3 seg y no has escrito nada.\n")
