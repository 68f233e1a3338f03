"""Exercise 7: servidor_eco_v25, a non-blocking server that reports ``recepción fallida``."""

from __future__ import annotations

import os
import time

from labkit import finish, free_ports, interrupt, normalise, ours, wait_bound


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (from /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_reports_failed_receptions_and_still_echoes(lab, peer, backend):
    (port,) = free_ports(1)
    # PRACTICA_TIMEOUT_SCALE=0.2: a 0.1 s rest between two failed receptions.
    server = lab.start("servidor_eco_v25", port, backend=backend, scale=0.2)
    wait_bound([port], server)
    cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
    time.sleep(1.0)
    assert peer.echo(b"hola", port) == b"hola"
    time.sleep(0.3)
    cpu = cpu_seconds(server.pid) - cpu0
    wall = time.monotonic() - t0
    assert cpu < 0.25 * wall, f"{cpu:.2f} s of CPU in {wall:.2f} s: spinning"
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
