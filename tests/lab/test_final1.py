"""Final exercise 1: an echo server on a random port, found by a sequential scan."""

from __future__ import annotations

import re
import time

from echo_helpers import read_line
from labkit import backends, finish, free_ports, interrupt, wait_bound


def test_server_picks_a_random_port_in_20000_20100(lab, peer, backend):
    # Other tests on this machine (the scanner's) may hold a port of that range: then the
    # server reports the bind error in the práctica's words, and another try picks again.
    for _ in range(5):
        server = lab.start("servidor_final1", backend=backend)
        line = read_line(server.stdout).decode()
        m = re.fullmatch(r"Servidor de eco en el puerto (\d+)\n", line)
        if m:
            break
        assert line.startswith("Fallo en bind. Codigo de Error : 98 "), line
        assert finish(server)[0] == 1
    assert m, "no free port in 20000-20100 in 5 tries"
    port = int(m.group(1))
    assert 20000 <= port <= 20100
    wait_bound([port], server)
    assert peer.echo(b"hola", port) == b"hola"
    peer.send(b".", port)
    rc, out, err = finish(server)
    assert (rc, err) == (0, "")


def test_random_choice_covers_the_range(lab, backend):
    """Several servers on a 3-port range land on more than one port (it is random)."""
    first, _, last = free_ports(3, consecutive=True)
    seen = set()
    for _ in range(8):
        server = lab.start("servidor_final1", first, last, backend=backend)
        line = read_line(server.stdout).decode()
        seen.add(int(line.split()[-1]))
        interrupt(server)
    assert seen <= {first, first + 1, last}
    assert len(seen) >= 2


def test_practica_scan_timeout_half_a_second(lab):
    """settimeout(0.5): a server on the 4th port of the range is found after 3 silent ports."""
    runs = []
    for backend in backends():
        ports = free_ports(4, consecutive=True)
        server = lab.start("servidor_final1", ports[-1], ports[-1], backend=backend)
        runs.append((backend, ports, server))
    for _, ports, server in runs:
        assert read_line(server.stdout).decode() == f"Servidor de eco en el puerto {ports[-1]}\n"
        wait_bound([ports[-1]], server)
    start = time.monotonic()
    clients = [
        (
            backend,
            ports,
            lab.start("cliente_final1", "127.0.0.1", ports[0], ports[-1], backend=backend),
        )
        for backend, ports, _ in runs
    ]
    for backend, ports, client in clients:
        rc, out, err = finish(client)
        took = time.monotonic() - start
        assert (rc, out, err) == (0, f"Servidor encontrado en el puerto {ports[-1]}\n", ""), backend
        assert 1.45 <= took <= 3.0, (backend, took)
    for _, _, server in runs:
        rc, out, err = interrupt(server)
        assert (rc, err) == (130, "")


def test_scan_finds_the_random_port(lab, backend):
    ports = free_ports(6, consecutive=True)
    server = lab.start("servidor_final1", ports[0], ports[-1], backend=backend)
    port = int(read_line(server.stdout).decode().split()[-1])
    wait_bound([port], server)
    rc, out, err = lab.run(
        "cliente_final1", "localhost", ports[0], ports[-1], backend=backend, scale=0.2
    )
    assert (rc, out, err) == (0, f"Servidor encontrado en el puerto {port}\n", "")
    rc, out, err = interrupt(server)
    assert (rc, err) == (130, "")
    # The scan's probe reached the server (its first line was read above).
    assert "Message[127.0.0.1:" in out and out.rstrip().endswith("] - hola")


def test_nobody_there(lab, backend):
    first, _, last = free_ports(3, consecutive=True)
    rc, out, err = lab.run("cliente_final1", "127.0.0.1", first, last, backend=backend, scale=0.1)
    assert (rc, err) == (1, "")
    assert out == f"No hay ningun servidor de eco en 127.0.0.1 entre los puertos {first} y {last}\n"


def test_usage_errors(lab, backend):
    for program, args in [
        ("cliente_final1", []),
        ("cliente_final1", ["127.0.0.1", "20000"]),
        ("cliente_final1", ["127.0.0.1", "20100", "20000"]),
        ("cliente_final1", ["127.0.0.1", "a", "b"]),
        ("servidor_final1", ["5"]),
        ("servidor_final1", ["9", "1"]),
    ]:
        rc, out, err = lab.run(program, *args, backend=backend)
        assert rc == 2, (program, args)
        assert (out + err).count("\n") == 1 and "Usage: python" in out + err, (program, out, err)
