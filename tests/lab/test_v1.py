"""Práctica v1.0 (Listados 1 and 2) and exercises 1-4: the basic echo server and client."""

from __future__ import annotations

import subprocess
import time

import pytest
from labkit import (
    finish,
    free_ports,
    interrupt,
    no_traceback,
    normalise,
    ours,
    wait_bound,
)

PROMPT = "Enter message to send : "


def test_client_and_server_transcripts(lab, peer, backend):
    (port,) = free_ports(1)
    server = lab.start("servidor_eco_v1", port, backend=backend)
    wait_bound([port], server)
    rc, out, err = lab.run(
        "cliente_eco_v1", "127.0.0.1", port, backend=backend, input="hola\nque tal\n"
    )
    assert (rc, err) == (0, "")
    # The prompt, each reply, and a clean end at end of input.
    assert out == (f"{PROMPT}Server reply : hola\n{PROMPT}Server reply : que tal\n{PROMPT}\n")
    peer.send(b".", port)  # '.' stops the server
    rc, sout, serr = finish(server)
    assert (rc, serr) == (0, "")
    lines = ours(sout, ["hola", "que tal"])
    assert normalise(lines) == (
        "Message[127.0.0.1:PORT] - hola\nMessage[127.0.0.1:PORT] - que tal\n"
    )
    # Both messages came from the client's one socket (same ephemeral port).
    assert len({line.split("]")[0] for line in lines.splitlines()}) == 1


def test_exercise1_two_ncat_clients(lab, backend):
    """Two netcat clients at once: one socket serves both, each with its own port."""
    (port,) = free_ports(1)
    server = lab.start("servidor_eco_v1", port, backend=backend)
    wait_bound([port], server)
    clients = []
    for word in ("uno", "dos"):
        clients.append(lab.ncat(port, word))  # the echo reaches that netcat
    for nc in clients:
        nc.kill()
    rc, out, err = interrupt(server)  # Ctrl+C, as the práctica says
    assert rc == 130
    no_traceback(err)
    lines = ours(out, ["uno", "dos"]).splitlines()
    assert normalise("\n".join(lines)) == (
        "Message[127.0.0.1:PORT] - uno\nMessage[127.0.0.1:PORT] - dos"
    )
    assert lines[0].split("]")[0] != lines[1].split("]")[0]  # two different client ports


def test_exercise2_second_server_same_port(lab, backend):
    """v1 has no try: the bind error is one line (no traceback) and exit code 1."""
    (port,) = free_ports(1)
    first = lab.start("servidor_eco_v1", port, backend=backend)
    wait_bound([port], first)
    rc, out, err = lab.run("servidor_eco_v1", port, backend=backend)
    assert (rc, out, err) == (1, "", "OSError: [Errno 98] Address already in use\n")
    interrupt(first)


def test_runs_as_a_script_too(lab, peer, backend):
    (port,) = free_ports(1)
    server = lab.start("servidor_eco_v1", port, backend=backend, script=True)
    wait_bound([port], server)
    assert peer.echo(b"script", port) == b"script"
    peer.send(b".", port)
    rc, out, err = finish(server)
    assert (rc, err) == (0, "")
    assert normalise(ours(out, ["script"])) == "Message[127.0.0.1:PORT] - script\n"


def test_ctrl_c_in_blocked_client_and_server(lab, backend):
    (port, silent) = free_ports(2)
    server = lab.start("servidor_eco_v1", port, backend=backend)
    wait_bound([port], server)
    # A client blocked in recvfrom (the destination never answers).
    client = lab.start(
        "cliente_eco_v1", "127.0.0.1", silent, backend=backend, stdin=subprocess.PIPE
    )
    client.stdin.write("hola\n")
    client.stdin.flush()
    time.sleep(0.5)
    assert client.poll() is None
    start = time.monotonic()
    rc, out, err = interrupt(client)
    assert time.monotonic() - start < 2.0
    # (A foreign datagram, e.g. a scanner's probe on this shared machine, may have been
    # printed as a reply meanwhile; what matters is the quiet end.)
    assert (rc, err) == (130, "")
    assert out.startswith(PROMPT)
    rc, out, err = interrupt(server)
    assert (rc, err) == (130, "")


@pytest.mark.parametrize(
    ("program", "args", "first"),
    [
        ("cliente_eco_v1", [], "Usage: python "),
        ("cliente_eco_v1", ["127.0.0.1"], "Usage: python "),
        ("cliente_eco_v1", ["127.0.0.1", "abc"], "Puerto no valido: 'abc'. Usage: python "),
        ("cliente_eco_v1", ["127.0.0.1", "70000"], "Puerto no valido: '70000'. Usage: python "),
        ("cliente_eco_v1_4", ["a", "b", "c"], "Usage: python "),
        ("servidor_eco_v1", ["-5"], "Puerto no valido: '-5'. Usage: python servidor_eco_v1.py"),
        ("servidor_eco_v1", ["1", "2"], "Usage: python servidor_eco_v1.py [PortNumber]"),
        ("servidor_eco_v1_4", ["x"], "Puerto no valido: 'x'. Usage: python servidor_eco_v1_4.py"),
    ],
)
def test_usage_errors(lab, backend, program, args, first):
    rc, out, err = lab.run(program, *args, backend=backend)
    assert rc == 2
    text = out + err
    assert text.startswith(first), text
    assert text.count("\n") == 1, text  # one line, no traceback


def test_unknown_backend_is_one_line(lab):
    rc, out, err = lab.run("servidor_eco_v1", backend="java")
    assert (rc, out) == (2, "")
    assert err == "UDPECO_BACKEND must be one of rust, python, not 'java'\n"
