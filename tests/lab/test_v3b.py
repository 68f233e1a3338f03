"""Práctica v3b (settimeout, Listado 4) and exercise 11 (two sockets with settimeout)."""

from __future__ import annotations

import time

from labkit import (
    after_last_datagram,
    backends,
    finish,
    free_ports,
    interrupt,
    normalise,
    ours,
    wait_bound,
    watch,
)


def test_practica_settimeout_5s(lab, peer):
    """``settimeout(5.0)``: 5 s after the last datagram, the práctica's exception message."""
    runs = []
    for backend in backends():
        (port,) = free_ports(1)
        runs.append((backend, lab.start("servidor_eco_v3b", port, backend=backend), port))
    for _, proc, port in runs:
        wait_bound([port], proc)
        assert peer.echo(b"hola", port) == b"hola"
    _, lines = watch([proc for _, proc, _ in runs], limit=30)
    for backend, proc, port in runs:
        rc, out, err = finish(proc)
        assert (rc, err) == (0, ""), backend
        timed = lines[proc.pid]
        assert normalise(ours("".join(line for _, line in timed), ["hola"])) == (
            "recibido desde 127.0.0.1:PORT: hola\n"
            f"** Exception: socket('0.0.0.0', {port}) timed out after 5.0 seg.\n"
        ), backend
        t0, rest = after_last_datagram(timed, "recibido desde")
        assert len(rest) == 1 and 4.9 <= rest[0][0] - t0 <= 6.0, (backend, timed)


def test_default_port_8888(lab, backend):
    server = lab.start("servidor_eco_v3b", backend=backend, scale=0.05)
    rc, out, err = finish(server)
    assert (rc, err) == (0, "")
    assert out == "** Exception: socket('0.0.0.0', 8888) timed out after 0.25 seg.\n"


def test_bind_failed_message(lab, backend):
    (port,) = free_ports(1)
    first = lab.start("servidor_eco_v3b", port, backend=backend, scale=2)
    wait_bound([port], first)
    rc, out, err = lab.run("servidor_eco_v3b", port, backend=backend)
    assert (rc, out, err) == (1, "Bind failed. Error Code: 98 Message Address already in use\n", "")
    rc, out, err = interrupt(first)
    assert (rc, err) == (130, "")


def test_exercise11_settimeout_cannot_multiplex(lab, peer, backend):
    """A datagram for the second socket waits until the first socket's timeout expires."""
    p1, p2 = free_ports(2)
    # Scale 0.2: settimeout(1.0) on each socket.
    server = lab.start("servidor_eco_v3b_11", p1, p2, backend=backend, scale=0.2)
    wait_bound([p1, p2], server)
    time.sleep(0.1)
    start = time.monotonic()
    assert peer.echo(b"para s2", p2) == b"para s2"
    late = time.monotonic() - start
    # The loop was blocked in s.recvfrom: the echo came only after s timed out (~1 s; bounds
    # loose for a loaded machine, where the first timeout may have begun a moment earlier;
    # select answers in milliseconds).
    assert 0.3 <= late <= 2.5, late
    rc, out, err = interrupt(server)
    assert (rc, err) == (130, "")
    lines = normalise(ours(out, ["para s2"])).splitlines()
    assert lines[:2] == [
        f"Han pasado 1 seg sin recibir nada por el socket ('0.0.0.0', {p1}).",
        f"recibido en mi socket ('0.0.0.0', {p2}) desde el origen 127.0.0.1:PORT: para s2",
    ]


def test_v3_select_answers_at_once_where_v3b_11_waits(lab, peer, backend):
    """The contrast of exercise 11: select (v3) answers the second port immediately."""
    p1, p2 = free_ports(2)
    server = lab.start("servidor_eco_v3", p1, p2, backend=backend, scale=0.2)
    wait_bound([p1, p2], server)
    start = time.monotonic()
    assert peer.echo(b"para s2", p2) == b"para s2"
    assert time.monotonic() - start < 0.5  # v3b_11 takes >= 0.6 s here
    interrupt(server)
