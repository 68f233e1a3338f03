"""Final exercise 2: a server that writes one line per datagram and ends after 5 s of silence."""

from __future__ import annotations

import socket
import time

from labkit import backends, finish, free_ports, interrupt, wait_bound

MESSAGES = [
    b"hola",
    "ma\u00f1ana caf\u00e9".encode(),
    b"caf\xe9 latin-1",
    b"dos\nlineas",
    b"con fin\n",
    b"",
]
LINES = "hola\nma\u00f1ana caf\u00e9\ncaf\\xe9 latin-1\ndos\\nlineas\ncon fin\n\n"


def test_silence_file_and_escaping(lab, peer, tmp_path):
    """Both backends at once: the file's lines, then the end after the (scaled) silence.

    (The práctica's 5 s is the clause final2.ends_after_5s_silence, run by test_clauses.py.)
    """
    runs = []
    for backend in backends():
        (port,) = free_ports(1)
        name = f"mensajes-{backend}.txt"
        runs.append(
            (
                backend,
                port,
                name,
                lab.start("servidor_final2", port, name, backend=backend, scale=0.4),
            )
        )
    last = {}
    for backend, port, _, proc in runs:
        wait_bound([port], proc)
        for data in MESSAGES:
            assert peer.echo(data, port) == data  # it also echoes (cliente_eco_v2 works with it)
        last[backend] = time.monotonic()
    for backend, _port, name, proc in runs:
        rc, out, err = finish(proc, timeout=15)
        quiet = time.monotonic() - last[backend]
        assert (rc, err) == (0, ""), backend
        assert quiet >= 1.9, (backend, quiet)
        assert out == (
            f"Guardando los mensajes en {name}\n"
            f"Han pasado 2 seg sin recibir nada: 6 mensajes guardados en {name}. Fin.\n"
        )
        assert (tmp_path / name).read_text(encoding="utf-8") == LINES


def test_defaults_port_44444_and_mensajes_txt(lab, peer, tmp_path, backend):
    server = lab.start("servidor_final2", backend=backend, scale=0.1)
    wait_bound([44444], server)
    assert peer.echo(b"por defecto", 44444) == b"por defecto"
    rc, out, err = finish(server)
    assert (rc, err) == (0, "")
    assert (tmp_path / "mensajes.txt").read_text(encoding="utf-8") == "por defecto\n"


def test_no_datagram_lost(lab, tmp_path, backend):
    """5,000 datagrams, 64 in flight, then a burst of 200 never answered: 5,200 lines, in order."""
    (port,) = free_ports(1)
    server = lab.start("servidor_final2", port, "m.txt", backend=backend, scale=0.2)
    wait_bound([port], server)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    sent = [f"mensaje {i}".encode() for i in range(5000)]
    window, nxt, got = 64, 0, 0
    while got < len(sent):
        while nxt < len(sent) and nxt - got < window:
            s.send(sent[nxt])
            nxt += 1
        s.recv(2048)
        got += 1
    burst = [f"rafaga {i}".encode() for i in range(200)]
    for data in burst:
        s.send(data)
    s.close()
    rc, out, err = finish(server)
    assert (rc, err) == (0, "")
    assert out.endswith("5200 mensajes guardados en m.txt. Fin.\n")
    lines = (tmp_path / "m.txt").read_text(encoding="utf-8").splitlines()
    assert lines == [d.decode() for d in sent + burst]


def test_ncat_as_client(lab, tmp_path, backend):
    """As the práctica suggests: netcat's lines become the file's lines (newline removed)."""
    (port,) = free_ports(1)
    # ncat first: the server's silence (3 s at scale 0.6) counts from its start, and ncat can
    # take that long to start on a loaded machine.
    nc = lab.ncat(port)
    server = lab.start("servidor_final2", port, "nc.txt", backend=backend, scale=0.6)
    wait_bound([port], server)
    lab.echo_lines(nc, "primera", "segunda")  # one datagram per line
    rc, out, err = finish(server)
    nc.kill()
    assert (rc, err) == (0, "")
    # Foreign datagrams (scanners on this shared machine) may add lines; ours are in order.
    lines = (tmp_path / "nc.txt").read_text(encoding="utf-8").splitlines()
    assert [x for x in lines if x in ("primera", "segunda")] == ["primera", "segunda"]


def test_ctrl_c_and_errors(lab, tmp_path, backend):
    (port,) = free_ports(1)
    server = lab.start("servidor_final2", port, "c.txt", backend=backend)
    wait_bound([port], server)
    rc, out, err = lab.run("servidor_final2", port, "otro.txt", backend=backend)
    assert (rc, out, err) == (
        1,
        "Fallo en bind. Codigo de Error : 98 Mensaje Address already in use\n",
        "",
    )
    rc, out, err = interrupt(server)
    assert (rc, err) == (130, "")
    (other,) = free_ports(1)
    rc, out, err = lab.run(
        "servidor_final2", other, str(tmp_path / "no" / "existe.txt"), backend=backend
    )
    assert rc == 1 and err == ""
    assert out.startswith("No puedo crear el fichero ") and out.endswith(
        ": No such file or directory\n"
    )
    rc, out, err = lab.run("servidor_final2", "1", "2", "3", backend=backend)
    assert (rc, out.count("\n")) == (2, 1) and out.startswith("Usage: python servidor_final2.py")
