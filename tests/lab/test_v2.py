"""Práctica v2.0 (exceptions) and exercise 6: socket errors in the práctica's words."""

from __future__ import annotations

import socket

import pytest
from labkit import finish, free_ports, interrupt, no_traceback, normalise, ours, wait_bound

PROMPT = "Enter message to send : "


def test_bind_in_use_in_the_practicas_words(lab, backend):
    (port,) = free_ports(1)
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("", port))
    try:
        rc, out, err = lab.run("servidor_eco_v2", port, backend=backend)
    finally:
        holder.close()
    assert (rc, err) == (1, "")
    assert out == "Fallo en bind. Codigo de Error : 98 Mensaje Address already in use\n"


def test_exercise6_two_servers(lab, peer, backend):
    """Exercise 6: the second v2 server on the same port reports the error; the first serves."""
    (port,) = free_ports(1)
    first = lab.start("servidor_eco_v2", port, backend=backend)
    wait_bound([port], first)
    rc, out, err = lab.run("servidor_eco_v2", port, backend=backend)
    assert (rc, out, err) == (
        1,
        "Fallo en bind. Codigo de Error : 98 Mensaje Address already in use\n",
        "",
    )
    assert peer.echo(b"sigo vivo", port) == b"sigo vivo"
    peer.send(b".", port)
    rc, out, err = finish(first)
    assert (rc, err) == (0, "")
    assert normalise(ours(out, ["sigo vivo"])) == "Message[127.0.0.1:PORT] - sigo vivo\n"


def test_client_and_server_transcripts(lab, peer, backend):
    (port,) = free_ports(1)
    server = lab.start("servidor_eco_v2", port, backend=backend)
    wait_bound([port], server)
    rc, out, err = lab.run(
        "cliente_eco_v2", "localhost", port, backend=backend, input="hola\nadios\n"
    )
    assert (rc, err) == (0, "")
    assert out == f"{PROMPT}Server reply : hola\n{PROMPT}Server reply : adios\n{PROMPT}\n"
    rc, out, err = interrupt(server)
    assert (rc, err) == (130, "")
    assert normalise(ours(out, ["hola", "adios"])) == (
        "Message[127.0.0.1:PORT] - hola\nMessage[127.0.0.1:PORT] - adios\n"
    )


def test_client_message_too_long(lab, backend):
    """A line over 65507 bytes: sendto fails with errno 90, reported, exit code 1."""
    (port,) = free_ports(1)
    rc, out, err = lab.run(
        "cliente_eco_v2", "127.0.0.1", port, backend=backend, input="x" * 70000 + "\n"
    )
    assert (rc, err) == (1, "")
    assert out == f"{PROMPT}Codigo de Error : 90 Mensaje Message too long\n"


def test_client_host_that_does_not_resolve(lab, backend):
    """A name that does not resolve: socket.gaierror, caught by ``except socket.error``."""
    try:
        socket.getaddrinfo("nohost.invalid", 9, socket.AF_INET, socket.SOCK_DGRAM)
    except socket.gaierror as e:
        expected = f"Codigo de Error : {e.errno} Mensaje {e.strerror}\n"
    else:
        pytest.skip("this machine resolves nohost.invalid")
    rc, out, err = lab.run("cliente_eco_v2", "nohost.invalid", 9, backend=backend, input="hola\n")
    assert (rc, err) == (1, "")
    assert out == PROMPT + expected


@pytest.mark.parametrize(
    ("program", "args"),
    [
        ("cliente_eco_v2", ["127.0.0.1"]),
        ("cliente_eco_v2", ["127.0.0.1", "99999"]),
        ("servidor_eco_v2", ["p"]),
    ],
)
def test_usage_errors(lab, backend, program, args):
    rc, out, err = lab.run(program, *args, backend=backend)
    assert rc == 2
    assert (out + err).count("\n") == 1
    assert "Usage: python" in out + err
    no_traceback(err)
