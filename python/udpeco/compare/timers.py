"""The scenarios about waiting: polling (v25), a timeout that ends the server (v3b), one timeout
per socket (v3b_11) and a slow reply (v3_10).

Each runs the lab program on the stdlib and on the drop-in, and the same job on ``udpeco serve``.
The práctica's times are scaled by ``PRACTICA_TIMEOUT_SCALE`` (given per scenario below) so that
a scenario takes seconds, not minutes; the notes say which times were used.
"""

from __future__ import annotations

import select
import socket
import tempfile
import threading
import time

from udpeco.compare.harness import (
    Options,
    Row,
    Scenario,
    best_of,
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
from udpeco.compare.scenarios import V1_MESSAGES

# -------------------------------------------------------------------------- helpers


def _names(text: str, ports: dict[int, str]) -> str:
    """``text`` with the server's ports replaced by PORT1, PORT2 (they change every run)."""
    text = normalise(text)
    for port, name in ports.items():
        text = text.replace(f"', {port})", f"', {name})")
    return text


def _ask(s: socket.socket, data: bytes, port: int) -> bytes:
    s.sendto(data, ("127.0.0.1", port))
    return s.recvfrom(2048)[0]


# ------------------------------------------------------------------------ scenario v25

V25_SCALE = 0.1  # the 0.5 s pause after a failed recvfrom becomes 0.05 s
V25_REQUESTS = 20


def _v25(runner: str, backend: str | None) -> Row:
    (port,) = free_ports(1)
    if backend is None:
        cmd = udpeco_cmd("serve", port, "--rate-limit", "off", "--json")
    else:
        cmd = lab_cmd("servidor_eco_v25") + [str(port)]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        server = start_server(cmd, backend, log, V25_SCALE)
        try:
            wait_bound([port], server)
            who = backend or "python"
            client = run_client(
                "cliente_eco_v1", ["127.0.0.1", port], who, "\n".join(V1_MESSAGES) + "\n"
            )
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(5)
                start = time.monotonic()
                for i in range(V25_REQUESTS):
                    _ask(s, b"peticion %d" % i, port)
                took = time.monotonic() - start
            stop_with_dot(server, port)
        finally:
            stop(server)
        log.seek(0)
        text = log.read()
    printed = keep(text, V1_MESSAGES)
    note = f"{V25_REQUESTS} requests one at a time; pause {0.5 * V25_SCALE:g} s (0.5 s scaled)"
    if backend is None:
        note += f"; serve --json: {last_json(text)['datagrams']} datagrams"
    return Row(runner, normalise(client + printed), V25_REQUESTS / took, "req/s", note)


def scenario_v25(opts: Options) -> list[Row]:
    return best_of(
        opts,
        [
            ("stdlib socket", lambda: _v25("stdlib socket", "python")),
            ("udpeco drop-in", lambda: _v25("udpeco drop-in", "rust")),
            ("udpeco serve", lambda: _v25("udpeco serve", None)),
        ],
    )


# ------------------------------------------------------------------------ scenario v3b

V3B_SCALE = 0.2  # settimeout(5.0) becomes 1 s
V3B_MESSAGES = ["uno", "dos", "tres"]


def _keepalive(port: int, until: threading.Event) -> None:
    """Sends a datagram every 0.1 s until ``until``: the server's idle timer must not run out
    while the load generator starts."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        while not until.wait(0.1):
            s.sendto(b"keepalive", ("127.0.0.1", port))


def _v3b(runner: str, backend: str | None, opts: Options) -> Row:
    (port,) = free_ports(1)
    idle = 5.0 * V3B_SCALE
    if backend is None:
        cmd = udpeco_cmd("serve", port, "--no-stop", "--idle-timeout", idle, "--rate-limit", "off")
        cmd.append("--json")
    else:
        cmd = lab_cmd("servidor_eco_v3b") + [str(port)]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        server = start_server(cmd, backend, log, V3B_SCALE)
        done = threading.Event()
        keeper = threading.Thread(target=_keepalive, args=(port, done), daemon=True)
        try:
            wait_bound([port], server)
            keeper.start()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(5)
                client = "".join(
                    f"sent {m}, reply {_ask(s, m.encode(), port).decode()}\n" for m in V3B_MESSAGES
                )
            rate, tool = load(port, opts.duration)
            done.set()
            keeper.join()
            start = time.monotonic()
            code = server.wait(10 + idle)
            ended = time.monotonic() - start
        finally:
            done.set()
            stop(server)
        log.seek(0)
        text = log.read()
    printed = keep(text, [f": {m}" for m in V3B_MESSAGES])
    printed += "".join(line + "\n" for line in text.splitlines() if "timed out after" in line)
    note = f"ended by itself {ended:.2f} s after the load (exit {code}; timeout {idle:g} s)"
    if backend is None:
        note += f"; serve --json: {last_json(text)['datagrams']} datagrams"
        return Row(runner, None, rate, "echoes/s", note, client=client)
    return Row(runner, client + _names(printed, {port: "PORT"}), rate, "echoes/s", note, client)


def scenario_v3b(opts: Options) -> list[Row]:
    return best_of(
        opts,
        [
            ("stdlib socket", lambda: _v3b("stdlib socket", "python", opts)),
            ("udpeco drop-in", lambda: _v3b("udpeco drop-in", "rust", opts)),
            ("udpeco serve", lambda: _v3b("udpeco serve", None, opts)),
        ],
    )


# --------------------------------------------------------------------- scenario v3b_11

V3B11_SCALE = 0.1  # settimeout(5.0) becomes 0.5 s


def _v3b_11(runner: str, backend: str | None) -> Row:
    p1, p2 = free_ports(2)
    if backend is None:
        cmd = udpeco_cmd("serve", p1, p2, "--no-stop", "--rate-limit", "off")
    else:
        cmd = lab_cmd("servidor_eco_v3b_11") + [str(p1), str(p2)]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        server = start_server(cmd, backend, log, V3B11_SCALE)
        try:
            wait_bound([p1, p2], server)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(10)
                # After the reply to "uno" the lab server waits on PORT2's socket: "dos", to
                # PORT1, is read only when that wait times out.
                client = f"sent uno to PORT1, reply {_ask(s, b'uno', p1).decode()}\n"
                start = time.monotonic()
                client += f"sent dos to PORT1, reply {_ask(s, b'dos', p1).decode()}\n"
                took = time.monotonic() - start
                client += f"sent tres to PORT2, reply {_ask(s, b'tres', p2).decode()}\n"
        finally:
            stop(server)
        log.seek(0)
        printed = keep(log.read(), [": uno", ": dos", ": tres"])
    note = f"reply to a 2nd datagram on PORT1 (timeout {5.0 * V3B11_SCALE:g} s per socket)"
    if backend is None:
        return Row(runner, None, took, "s", note, client=client)
    transcript = client + _names(printed, {p1: "PORT1", p2: "PORT2"})
    return Row(runner, transcript, took, "s", note, client=client)


def scenario_v3b_11(opts: Options) -> list[Row]:
    return best_of(
        opts,
        [
            ("stdlib socket", lambda: _v3b_11("stdlib socket", "python")),
            ("udpeco drop-in", lambda: _v3b_11("udpeco drop-in", "rust")),
            ("udpeco serve", lambda: _v3b_11("udpeco serve", None)),
        ],
    )


# ---------------------------------------------------------------------- scenario v3_10

V3_10_SCALE = 0.1  # time.sleep(3) becomes 0.3 s
V3_10_CONCURRENT = [("uno", 0), ("dos", 1), ("tres", 0)]  # (text, which port)


def _all_at_once(ports: list[int]) -> tuple[float, str]:
    """Three clients send at the same moment; seconds until the last reply, and the replies."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in V3_10_CONCURRENT]
    try:
        start = time.monotonic()
        for s, (text, which) in zip(socks, V3_10_CONCURRENT):
            s.sendto(text.encode(), ("127.0.0.1", ports[which]))
        replies: dict[int, str] = {}
        while len(replies) < len(socks):
            left = start + 10 - time.monotonic()
            ready = select.select(socks, [], [], max(left, 0))[0]
            if not ready:
                raise RuntimeError(f"no reply within 10 s (got {sorted(replies.values())})")
            for s in ready:
                replies[socks.index(s)] = s.recv(2048).decode()
        took = time.monotonic() - start
    finally:
        for s in socks:
            s.close()
    shown = "".join(f"client {i + 1}: reply {replies[i]}\n" for i in range(len(socks)))
    return took, shown


def _v3_10(runner: str, backend: str | None) -> Row:
    p1, p2 = free_ports(2)
    delay = 3.0 * V3_10_SCALE
    if backend is None:
        cmd = udpeco_cmd("serve", p1, p2, "--no-stop", "--delay", delay, "--rate-limit", "off")
    else:
        cmd = lab_cmd("servidor_eco_v3_10") + [str(p1), str(p2)]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        server = start_server(cmd, backend, log, V3_10_SCALE)
        try:
            wait_bound([p1, p2], server)
            took, client = _all_at_once([p1, p2])
            # cliente_eco_v3_10 gives up after X = 0.1 s, and gets the echo with X = 5.
            who = backend or "python"
            for x, text in ((0.1, "hola"), (5, "adios")):
                client += run_client("cliente_eco_v3_10", ["127.0.0.1", p1, x], who, text + "\n")
        finally:
            stop(server)
        log.seek(0)
        printed = keep(log.read(), [f": {m}" for m in ("uno", "dos", "tres", "hola", "adios")])
    # The concurrent datagrams may be read in either order: the lines are compared sorted.
    printed = "".join(sorted(_names(printed, {p1: "PORT1", p2: "PORT2"}).splitlines(True)))
    note = f"3 clients at once, each reply {delay:g} s late (time.sleep(3) scaled)"
    if backend is None:
        return Row(runner, None, took, "s", note, client=client)
    return Row(runner, client + printed, took, "s", note, client=client)


def scenario_v3_10(opts: Options) -> list[Row]:
    return best_of(
        opts,
        [
            ("stdlib socket", lambda: _v3_10("stdlib socket", "python")),
            ("udpeco drop-in", lambda: _v3_10("udpeco drop-in", "rust")),
            ("udpeco serve", lambda: _v3_10("udpeco serve", None)),
        ],
    )


#: The scenarios about waiting (the package's ``SCENARIOS`` orders them with the others).
TIMERS = {
    s.name: s
    for s in (
        Scenario(
            "v25",
            "exercise 7: servidor_eco_v25, non-blocking recvfrom that sleeps 0.5 s (scaled to "
            "0.05 s) after each failed try: cliente_eco_v1, then requests/s one at a time; "
            "engine: udpeco serve PORT (waits in the kernel, no polling)",
            scenario_v25,
        ),
        Scenario(
            "v3b",
            "Listado 4: servidor_eco_v3b, settimeout(5) ends the server after 5 s of silence "
            "(scaled to 1 s); echoes/s, and whether it ends by itself; engine: udpeco serve "
            "--idle-timeout",
            scenario_v3b,
        ),
        Scenario(
            "v3b_11",
            "exercise 11: servidor_eco_v3b_11, two sockets each with settimeout(5) (scaled to "
            "0.5 s) cannot multiplex: seconds until a 2nd datagram on PORT1 is answered; "
            "engine: udpeco serve PORT1 PORT2",
            scenario_v3b_11,
        ),
        Scenario(
            "v3_10",
            "exercise 10: servidor_eco_v3_10 sleeps 3 s (scaled to 0.3 s) before each echo: "
            "seconds until 3 clients sending at once all have their echo, and cliente_eco_v3_10 "
            "with X=0.1 (gives up) and X=5; engine: udpeco serve --delay",
            scenario_v3_10,
        ),
    )
}
