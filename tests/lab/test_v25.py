"""Exercise 7: servidor_eco_v25, a non-blocking server that reports ``recepción fallida``."""

from __future__ import annotations

import time

from labkit import finish, free_ports, interrupt, normalise, ours, wait_bound


def test_reports_failed_receptions_and_still_echoes(lab, peer, backend):
    (port,) = free_ports(1)
    # PRACTICA_TIMEOUT_SCALE=0.2: a 0.1 s rest between two failed receptions.
    server = lab.start("servidor_eco_v25", port, backend=backend, scale=0.2)
    wait_bound([port], server)
    # (Not spinning is the clause ex7.no_busy_wait, run by test_clauses.py.)
    time.sleep(1.0)
    assert peer.echo(b"hola", port) == b"hola"
    time.sleep(0.3)
    peer.send(b".", port)
    rc, out, err = finish(server)
    assert (rc, err) == (0, "")
    lines = normalise(ours(out, ["hola"])).splitlines()
    assert "Message[127.0.0.1:PORT] - hola" in lines
    assert set(lines) == {"recepción fallida", "Message[127.0.0.1:PORT] - hola"}
    fallidas = lines.count("recepción fallida")
    assert 5 <= fallidas <= 20, fallidas  # about one per 0.1 s rest, not a spin


def test_bind_error_and_ctrl_c(lab, backend):
    (port,) = free_ports(1)
    server = lab.start("servidor_eco_v25", port, backend=backend, scale=0.2)
    wait_bound([port], server)
    rc, out, err = lab.run("servidor_eco_v25", port, backend=backend)
    assert (rc, out, err) == (
        1,
        "Fallo en bind. Codigo de Error : 98 Mensaje Address already in use\n",
        "",
    )
    rc, out, err = interrupt(server)
    assert (rc, err) == (130, "")
