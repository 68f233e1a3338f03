"""Práctica v3.0 (select, Listado 3) and exercises 8, 9 and 10."""

from __future__ import annotations

import socket
import time

from echo_helpers import read_line
from labkit import (
    after_last_datagram,
    bound_udp_ports,
    finish,
    free_ports,
    interrupt,
    normalise,
    ours,
    wait_bound,
)

PROMPT = "Enter message to send : "


def received(port: int, data: str) -> str:
    return f"recibido en mi socket ('0.0.0.0', {port}) desde el origen 127.0.0.1:PORT: {data}\n"


def test_transcript(lab, peer, backend):
    p1, p2 = free_ports(2)
    server = lab.start("servidor_eco_v3", p1, p2, backend=backend, scale=0.1)
    wait_bound([p1, p2], server)
    for data, port in ((b"uno", p1), (b"dos", p2), (b"tres", p1)):
        assert peer.echo(data, port) == data
    time.sleep(0.75)  # one silence period after the last datagram
    rc, out, err = interrupt(server)
    assert (rc, err) == (130, "")
    text = normalise(ours(out, ["uno", "dos", "tres"]))
    silence = "Han pasado 0.5 seg sin recibir nada por ningun socket.\n\n"
    assert text.startswith(received(p1, "uno") + received(p2, "dos") + received(p1, "tres"))
    assert text.endswith(silence)


def test_exercise8_two_ncat_terminals(lab, backend):
    """Two netcat 'terminals', one per server port; each gets its echo."""
    p1, p2 = free_ports(2)
    server = lab.start("servidor_eco_v3", p1, p2, backend=backend)
    wait_bound([p1, p2], server)
    for port, word in ((p1, "a ocho"), (p2, "a nueve")):
        lab.ncat(port, word).kill()
    rc, out, err = interrupt(server)
    assert (rc, err) == (130, "")
    # netcat sends the line with its newline; v3 prints the data as received (then a blank line).
    lines = [
        line + "\n"
        for line in normalise(out).splitlines()
        if line.endswith((" a ocho", " a nueve"))
    ]
    assert lines == [received(p1, "a ocho"), received(p2, "a nueve")]


def test_practica_timings_on_the_rust_engine(engine_background):
    """`udpeco serve --silence 5 --idle-timeout 20` (v3's message, exercise 9's exit), run in
    the background beside the lab scripts with the práctica's values."""
    lines = engine_background.wait()
    proc, p1, p2 = engine_background.engine
    rc, out, err = finish(proc)
    assert rc == 0, err
    assert "udpeco serve:" in err and "Traceback" not in err
    timed = lines[proc.pid]
    t0, rest = after_last_datagram(timed, "Message[127.0.0.1:")
    assert any(line.endswith("] - empieza\n") for _, line in timed)
    assert [line for _, line in rest if line != "\n"] == [
        "Han pasado 5 seg sin recibir nada por ningun socket.\n",
    ] * 3
    stamps = [t - t0 for t, line in rest if line != "\n"]
    for i, t in enumerate(stamps, start=1):
        assert 5 * i - 0.3 <= t <= 5 * i + 1.0, stamps
    assert engine_background.engine_end is not None
    assert 20 - 0.3 <= engine_background.engine_end - t0 <= 21.5, engine_background.engine_end - t0
    assert not {p1, p2} & bound_udp_ports(), "sockets still open"


def test_exercise9_a_datagram_restarts_the_count(lab, peer, backend):
    p1, p2 = free_ports(2)
    # Scale 0.1: 0.5 s per select, ends after 2 s of silence.
    server = lab.start("servidor_eco_v3_9", p1, p2, backend=backend, scale=0.1)
    wait_bound([p1, p2], server)
    silence = "Han pasado 0.5 seg sin recibir nada por ningun socket.\n"
    # Two silences (1 s of the 2 s), then a datagram: the count starts again from zero.
    seen = [read_line(server.stdout).decode() for _ in range(4)]
    assert seen == [silence, "\n", silence, "\n"]
    assert peer.echo(b"sigo", p2) == b"sigo"
    sent = time.monotonic()
    rc, out, err = finish(server)
    quiet = time.monotonic() - sent
    assert (rc, err) == (0, "")
    assert 1.9 <= quiet <= 3.5, quiet
    assert normalise(ours(out, ["sigo"])) == (
        received(p2, "sigo")
        + (silence + "\n") * 3
        + "Han pasado 2 seg sin recibir nada. Cierro los sockets y salgo.\n"
    )


def test_exercise10_client_x_timing_short(lab, backend):
    """X=0.3 against a port that never answers: gives up after about 0.3 s."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        start = time.monotonic()
        rc, out, err = lab.run(
            "cliente_eco_v3_10",
            "127.0.0.1",
            silent.getsockname()[1],
            "0.3",
            backend=backend,
            input="hola\n",
        )
        took = time.monotonic() - start
    finally:
        silent.close()
    assert (rc, out, err) == (1, f"{PROMPT}No ha llegado respuesta del servidor en 0.3 seg.\n", "")
    assert took < 2.5


def test_usage_errors(lab, backend):
    for program, args in [
        ("servidor_eco_v3", ["8888"]),
        ("servidor_eco_v3_9", ["1", "x"]),
        ("servidor_eco_v3_10", ["1", "2", "3"]),
        ("cliente_eco_v3_10", ["127.0.0.1", "9"]),
        ("cliente_eco_v3_10", ["127.0.0.1", "9", "-1"]),
    ]:
        rc, out, err = lab.run(program, *args, backend=backend)
        assert rc == 2, (program, args)
        assert (out + err).count("\n") == 1 and "Usage: python" in out + err, (program, out, err)
