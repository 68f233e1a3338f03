"""The práctica scenarios ``udpeco compare`` runs on each backend, and how each is measured.

A scenario runs the same lab programs on the stdlib backend (``UDPECO_BACKEND=python``), on
udpeco's drop-in socket/select (``UDPECO_BACKEND=rust``) and, where one exists, on the Rust
engine that does the same job whole, run as its command (``udpeco serve``, ``udpeco client``,
``udpeco scan``). Every program runs as its own process, servers pinned to core 0 and load to
core 1 when there are two cores. Each run gives a :class:`Row`: the transcript (client ports
normalised) and a figure (echoes/s, lines/s, or seconds). Rows are compared with the stdlib
row's transcript. This module holds the throughput scenarios (v1, v3, client, final1, final2);
:mod:`udpeco.compare.timers` the ones about timeouts and waiting (v25, v3b, v3b_11, v3_10).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import tempfile
import time

from udpeco.compare.harness import (
    SIZE,
    WINDOW,
    Options,
    Row,
    Scenario,
    best_of,
    cores,
    die_with_parent,
    env,
    free_ports,
    keep,
    lab_cmd,
    last_json,
    load,
    normalise,
    run_client,
    start_server,
    stop,
    stop_with_dot,
    udpeco_cmd,
    wait_bound,
)

# ------------------------------------------------------------------------- scenario v1

V1_MESSAGES = ["hola", "que tal", "adios"]


def _v1_server(runner: str, backend: str | None, port: int, opts: Options) -> Row:
    """servidor_eco_v1 with cliente_eco_v1 and a load; the engine is ``udpeco serve PORT``."""
    if backend is None:
        cmd = udpeco_cmd("serve", port, "--rate-limit", "off", "--json")
    else:
        cmd = lab_cmd("servidor_eco_v1") + [str(port)]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        server = start_server(cmd, backend, log)
        try:
            wait_bound([port], server)
            client = run_client(
                "cliente_eco_v1",
                ["127.0.0.1", port],
                backend or "python",
                "\n".join(V1_MESSAGES) + "\n",
            )
            rate, tool = load(port, opts.duration)
            stop_with_dot(server, port)
        finally:
            stop(server)
        log.seek(0)
        text = log.read()
        printed = keep(text, V1_MESSAGES)
    note = f"load: {tool}, {WINDOW} in flight, {SIZE} B"
    if backend is None:
        note += f"; serve --json: {last_json(text)['datagrams']} datagrams"
    return Row(runner, normalise(client + printed), rate, "echoes/s", note)


def scenario_v1(opts: Options) -> list[Row]:
    (port,) = free_ports(1)
    return best_of(
        opts,
        [
            ("stdlib socket", lambda: _v1_server("stdlib socket", "python", port, opts)),
            ("udpeco drop-in", lambda: _v1_server("udpeco drop-in", "rust", port, opts)),
            ("udpeco serve", lambda: _v1_server("udpeco serve", None, port, opts)),
        ],
    )


# ------------------------------------------------------------------------- scenario v3


def _v3_server(runner: str, backend: str | None, opts: Options) -> Row:
    p1, p2 = free_ports(2)
    if backend is None:
        cmd = udpeco_cmd("serve", p1, p2, "--no-stop", "--silence", 5, "--rate-limit", "off")
    else:
        cmd = lab_cmd("servidor_eco_v3") + [str(p1), str(p2)]
    seen = []
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        server = start_server(cmd, backend, log)
        try:
            wait_bound([p1, p2], server)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(5)
                for data, port, tag in (
                    (b"uno", p1, "PORT1"),
                    (b"dos", p2, "PORT2"),
                    (b"tres", p1, "PORT1"),
                ):
                    s.sendto(data, ("127.0.0.1", port))
                    reply, addr = s.recvfrom(2048)
                    src = {p1: "PORT1", p2: "PORT2"}.get(addr[1], str(addr[1]))
                    seen.append(
                        f"sent {data.decode()} to {tag}, reply {reply.decode()} from {src}\n"
                    )
            rate, tool = load(p1, opts.duration)
        finally:
            stop(server)
        log.seek(0)
        printed = keep(log.read(), [": uno", ": dos", ": tres"])
    printed = printed.replace(f"', {p1})", "', PORT1)").replace(f"', {p2})", "', PORT2)")
    client = "".join(seen)
    transcript = client + normalise(printed) if backend else None
    return Row(runner, transcript, rate, "echoes/s", f"load on one port: {tool}", client=client)


def scenario_v3(opts: Options) -> list[Row]:
    return best_of(
        opts,
        [
            ("stdlib socket", lambda: _v3_server("stdlib socket", "python", opts)),
            ("udpeco drop-in", lambda: _v3_server("udpeco drop-in", "rust", opts)),
            ("udpeco serve", lambda: _v3_server("udpeco serve", None, opts)),
        ],
    )


# ---------------------------------------------------------------------- scenario client


def _replies(text: str) -> str:
    """The ``Server reply : ...`` parts of a client transcript, one per line."""
    return "".join(
        "Server reply : " + part.split("Server reply : ", 1)[1] + "\n"
        for part in text.splitlines()
        if "Server reply : " in part
    )


def _client(runner: str, backend: str | None, port: int, lines: str, n: int) -> Row:
    _, client_core = cores()
    if backend is None:
        cmd = udpeco_cmd("client", "127.0.0.1", port, "--timeout", 5)
    else:
        cmd = [*lab_cmd("cliente_eco_v1"), "127.0.0.1", str(port)]
    start = time.monotonic()
    out = subprocess.run(
        [*client_core, *cmd],
        input=lines,
        capture_output=True,
        text=True,
        timeout=300,
        env=env(backend),
        check=False,
    )
    took = time.monotonic() - start
    text = out.stdout + out.stderr
    head = text[: text.find("Server reply : mensaje 3")] if backend else ""
    note = f"{n} requests, one at a time (whole process)"
    if out.returncode != 0:
        return Row(runner, note=f"failed: {text.strip()[-200:]}")
    if backend is None:
        return Row(runner, None, n / took, "req/s", note, client=_replies(text))
    return Row(runner, head, n / took, "req/s", note, client=_replies(text))


def scenario_client(opts: Options) -> list[Row]:
    (port,) = free_ports(1)
    n = opts.requests
    lines = "".join(f"mensaje {i}\n" for i in range(n))
    server_core, _ = cores()
    # One server for every row: servidor_eco_v1 on the stdlib, printing to nowhere.
    server = subprocess.Popen(
        [*server_core, *lab_cmd("servidor_eco_v1"), str(port)],
        preexec_fn=die_with_parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env("python"),
    )
    try:
        wait_bound([port], server)
        return best_of(
            opts,
            [
                ("stdlib socket", lambda: _client("stdlib socket", "python", port, lines, n)),
                ("udpeco drop-in", lambda: _client("udpeco drop-in", "rust", port, lines, n)),
                ("udpeco client", lambda: _client("udpeco client", None, port, lines, n)),
            ],
        )
    finally:
        stop(server)


# --------------------------------------------------------------------- scenario final1


def scenario_final1(opts: Options) -> list[Row]:
    ports = free_ports(opts.range_size, consecutive=True)
    first, last = ports[0], ports[-1]
    server = subprocess.Popen(
        [*lab_cmd("servidor_final1"), str(first), str(last)],
        preexec_fn=die_with_parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env("python"),
    )
    rows = []
    try:
        assert server.stdout is not None  # stdout=PIPE
        line = server.stdout.readline()
        found = re.search(r"puerto (\d+)", line)
        if not found:
            raise RuntimeError(f"servidor_final1: {line.strip()}")
        port = int(found.group(1))
        where = f" ({last - first + 1} ports, server on port #{port - first + 1})"
        wait_bound([port], server)
        for runner, backend in (("stdlib socket", "python"), ("udpeco drop-in", "rust")):
            start = time.monotonic()
            out = run_client("cliente_final1", ["127.0.0.1", first, last], backend, "")
            took = time.monotonic() - start
            note = "sequential, 0.5 s per port" + where
            rows.append(opts.measured(Row(runner, out.replace(str(port), "N"), took, "s", note)))
        start = time.monotonic()
        proc = subprocess.run(
            udpeco_cmd("scan", "127.0.0.1", f"{first}-{last}"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        took = time.monotonic() - start
        found_ports = re.findall(r"^(\d+)/udp open$", proc.stdout, re.MULTILINE)
        if proc.returncode != 0:
            row = Row("udpeco scan", note=f"failed: {proc.stderr.strip()[-200:]}")
        else:
            transcript = "".join(f"Servidor encontrado en el puerto {p}\n" for p in found_ports)
            row = Row("udpeco scan", transcript.replace(str(port), "N"), took, "s", "parallel")
            row.note += where
        rows.append(opts.measured(row))
    finally:
        stop(server)
    return rows


# --------------------------------------------------------------------- scenario final2

FINAL2_MESSAGES = [b"hola", "ma\u00f1ana".encode(), b"caf\xe9", b"dos\nlineas", b"con fin\n"]


def _final2(runner: str, backend: str | None, opts: Options) -> Row:
    (port,) = free_ports(1)
    server_core, _ = cores()
    with tempfile.TemporaryDirectory() as tmp:
        name = os.path.join(tmp, "mensajes.txt")
        if backend is None:
            cmd = udpeco_cmd(
                "serve",
                port,
                "--no-stop",
                "--quiet",
                "--log",
                name,
                "--idle-timeout",
                0.5,
                "--rate-limit",
                "off",
                "--json-file",
                os.path.join(tmp, "serve.json"),
            )
        else:
            cmd = lab_cmd("servidor_final2") + [str(port), name]
        server = subprocess.Popen(
            [*server_core, *cmd],
            preexec_fn=die_with_parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env(backend, 0.1),
        )
        try:
            wait_bound([port], server)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(5)
                s.connect(("127.0.0.1", port))
                for data in FINAL2_MESSAGES:
                    s.send(data)
                    s.recv(2048)
                start = time.monotonic()
                sent = got = 0
                while got < opts.messages:
                    while sent < opts.messages and sent - got < WINDOW:
                        s.send(b"linea %d" % sent)
                        sent += 1
                    s.recv(2048)
                    got += 1
                rate = got / (time.monotonic() - start)
            server.wait(30)
        finally:
            stop(server)
        try:
            with open(name, encoding="utf-8", errors="backslashreplace") as f:
                lines = f.read().splitlines(keepends=True)
        except OSError as e:
            return Row(runner, note=f"no file: {e}")
        counted = ""
        if backend is None:
            with open(os.path.join(tmp, "serve.json"), encoding="utf-8") as f:
                counted = f"; serve --json: {last_json(f.read())['drops']} drops"
    head = "".join(lines[: len(FINAL2_MESSAGES)])
    ok = len(lines) == len(FINAL2_MESSAGES) + opts.messages
    note = f"{len(lines)} lines{'' if ok else ' (LOST SOME)'}; {WINDOW} in flight, stdlib client"
    note += counted
    return Row(runner, head, rate, "lines/s", note)


def scenario_final2(opts: Options) -> list[Row]:
    name = "udpeco serve --log"
    return best_of(
        opts,
        [
            ("stdlib socket", lambda: _final2("stdlib socket", "python", opts)),
            ("udpeco drop-in", lambda: _final2("udpeco drop-in", "rust", opts)),
            (name, lambda: _final2(name, None, opts)),
        ],
    )


#: The throughput scenarios (the package's ``SCENARIOS`` orders them with the others).
THROUGHPUT = {
    s.name: s
    for s in (
        Scenario(
            "v1",
            "servidor_eco_v1 with cliente_eco_v1 (3 messages) and echoes/s under a closed-loop "
            "load (64 in flight, 64 B; server on core 0, load on core 1); engine: "
            "udpeco serve PORT",
            scenario_v1,
        ),
        Scenario(
            "v3",
            "servidor_eco_v3: two ports with select, each reply from the receiving port, echoes/s "
            "on one port; engine: udpeco serve PORT1 PORT2",
            scenario_v3,
        ),
        Scenario(
            "client",
            "cliente_eco_v1 fed --requests lines from a pipe, one request at a time, against "
            "servidor_eco_v1 (stdlib): requests/s of the whole client process; engine: "
            "udpeco client (compared on the replies)",
            scenario_client,
        ),
        Scenario(
            "final1",
            "final exercise 1: servidor_final1 on a random port of a range, found by "
            "cliente_final1's sequential scan (0.5 s per silent port) and by udpeco scan",
            scenario_final1,
        ),
        Scenario(
            "final2",
            "final exercise 2: servidor_final2 writing one line per datagram (UTF-8, \\xNN for "
            "other bytes), lines/s for --messages datagrams, none lost; engine: "
            "udpeco serve --log FILE",
            scenario_final2,
        ),
    )
}
