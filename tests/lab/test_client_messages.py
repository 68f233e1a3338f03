"""The lab clients never print a traceback for a bad host name or a typed line that is not
UTF-8: one line (the práctica's Spanish) and a non-zero exit code."""

import os
import subprocess
import sys

import pytest

CLIENTS = [
    ("cliente_eco_v1", ["9"]),
    ("cliente_eco_v1_4", ["9"]),
    ("cliente_eco_v2", ["9"]),
    ("cliente_eco_v3_10", ["9", "1"]),
    ("cliente_final1", []),
]


@pytest.mark.parametrize(("program", "rest"), CLIENTS)
def test_a_host_name_that_is_not_utf8_is_one_line(lab, backend, program, rest):
    # "\udcff" is how Python sees the command-line byte 0xff ($'\xff' in bash).
    rc, out, err = lab.run(program, "\udcff", *rest, backend=backend, input="hola\n")
    assert rc == 2
    text = out + err
    assert text.startswith("Nombre de host no valido: '\\xff'. Usage: python "), text
    assert text.count("\n") == 1, text


@pytest.mark.parametrize("backend_name", ["python", "rust"])
def test_a_typed_line_that_is_not_utf8_is_one_line(backend_name):
    env = dict(os.environ, UDPECO_BACKEND=backend_name, LC_ALL="C")
    r = subprocess.run(
        [sys.executable, "-m", "udpeco.practica3.cliente_eco_v1", "127.0.0.1", "9"],
        input=b"\xff\n",
        capture_output=True,
        env=env,
        timeout=30,
    )
    assert r.returncode == 1
    assert b"Traceback" not in r.stderr
    assert r.stderr.startswith(b"Texto no valido (no es UTF-8)"), r.stderr
    assert r.stderr.count(b"\n") == 1
