"""Clauses of the two final exercises: the random-port server and its scanner, the log file."""

from __future__ import annotations

import os
import random
import re
import time

from udpeco.check.common import (
    LOCAL,
    PATIENCE,
    EchoPeer,
    exchange,
    number_in,
    short,
    started_server,
    tail,
    trouble,
)
from udpeco.check.model import Context, Outcome, bad, clause, exercise, ok
from udpeco.check.proc import Program

SF1, CF1, SF2 = "servidor_final1.py", "cliente_final1.py", "servidor_final2.py"
FIRST, LAST = 20000, 20100
RUNS = 4

FINAL1 = exercise(
    "final1",
    "Ejercicio final 1: servidor en un puerto aleatorio y cliente que lo busca",
    "Final exercise 1: a server on a random port and a client that finds it",
    (SF1, CF1),
    seconds=8,
)
QUOTE_F1S = (
    "Crea un servidor de eco en un puerto aleatorio en el rango 20.000 – 20.100. "
    "(importa el módulo random y usa el método randint())."
)
QUOTE_F1C = (
    "Después, debes hacer un cliente que, dada la dirección IP del servidor, haga un "
    "escaneo de puertos (i.e. prueba de forma secuencial todos los números de puertos "
    "posibles) e imprime el puerto en el que el servidor está activo."
)


def _ports(ctx: Context) -> tuple[list[int], Outcome | None]:
    """The port the server binds in each of several runs (it echoes in the first)."""

    def run():
        ports: list[int] = []
        for i in range(RUNS):
            prog, err = started_server(ctx, SF1, None)
            if err:
                return ports, err
            port = min(prog.udp_ports())
            ports.append(port)
            if i == 0:
                echo = exchange(ctx.peer(), b"hola final", port, timeout=PATIENCE)
                ctx.once("echo", lambda: echo)  # noqa: B023 (called at once)
            prog.stop(0.5)
        return ports, None

    return ctx.once("ports", run)


@clause(
    FINAL1,
    "server_port_in_range",
    "El servidor escucha en un puerto entre 20000 y 20100",
    "The server listens on a port between 20000 and 20100",
    QUOTE_F1S,
)
def f1_range(ctx: Context) -> Outcome:
    ports, err = _ports(ctx)
    if err:
        return err
    out = [p for p in ports if not FIRST <= p <= LAST]
    if out:
        return bad(
            ctx.t("puerto fuera del rango", "port out of range"), f"{FIRST}-{LAST}", str(ports)
        )
    return ok(str(ports))


@clause(
    FINAL1,
    "server_port_random",
    "El puerto cambia de una ejecución a otra (aleatorio)",
    "The port changes from run to run (random)",
    QUOTE_F1S,
)
def f1_random(ctx: Context) -> Outcome:
    ports, err = _ports(ctx)
    if err:
        return err
    if len(set(ports)) < 2:
        return bad(
            ctx.t(f"el mismo puerto en {RUNS} ejecuciones", f"the same port in {RUNS} runs"),
            ctx.t("puertos distintos", "different ports"),
            str(ports),
        )
    return ok(ctx.t(f"{RUNS} ejecuciones: ", f"{RUNS} runs: ") + str(ports))


@clause(FINAL1, "server_echoes", "El servidor hace eco", "The server echoes", QUOTE_F1S)
def f1_echo(ctx: Context) -> Outcome:
    ports, err = _ports(ctx)
    if err:
        return err
    got = ctx.once("echo", lambda: None)
    if got is None:
        return bad(
            ctx.t("no llega el eco", "no echo"),
            "hola final",
            ctx.t(f"nada desde el puerto {ports[0]}", f"nothing from port {ports[0]}"),
        )
    return ok(repr(got[0]))


@clause(
    FINAL1,
    "client_prints_port",
    "El cliente escanea e imprime el puerto del servidor",
    "The client scans and prints the server's port",
    QUOTE_F1C,
)
def f1_client(ctx: Context) -> Outcome:
    target = FIRST + random.randint(2, 5)
    peer = EchoPeer(ctx, target)  # an echo server where the scan finds it quickly
    prog = ctx.start(CF1, LOCAL)
    deadline = time.monotonic() + 8.0 + 1.2 * (target - FIRST)
    while time.monotonic() < deadline and prog.alive():
        if _reports(prog, target):
            break
        time.sleep(0.05)
    prog.wait(0.3)
    probes = len(peer.got)
    peer.close()
    if _reports(prog, target):
        return trouble(ctx, prog, ended_ok=True) or ok(short(_reports(prog, target)))
    return trouble(ctx, prog, ended_ok=True) or bad(
        ctx.t("no imprime el puerto del servidor", "does not print the server's port"),
        ctx.t(f"una línea con {target}", f"a line with {target}"),
        ctx.t(
            f"{probes} sondas recibidas en {target}; salida: ",
            f"{probes} probes reached {target}; output: ",
        )
        + tail(prog),
    )


def _reports(prog: Program, target: int) -> str:
    """The line that reports ``target``, if it differs from the lines about closed ports.

    A verbose client may print every port it tries; the server's port must be told apart
    (the line for it, with the number taken out, is not one printed for other ports).
    """
    lines = [line for _, line in prog.out.snapshot()]
    shape: dict[int, set[str]] = {}
    for line in lines:
        for m in re.finditer(r"(?<!\d)(20[01]\d\d)(?!\d)", line):
            shape.setdefault(int(m.group(1)), set()).add(line.replace(m.group(1), "N"))
    if target not in shape:
        return ""
    others = set().union(*(v for k, v in shape.items() if k != target)) if len(shape) > 1 else set()
    mine = shape[target] - others
    if not mine:
        return ""
    return next(line for line in lines if number_in(line, target))


# ------------------------------------------------------------------------------------------
FINAL2 = exercise(
    "final2",
    "Ejercicio final 2: servidor que guarda cada mensaje en una línea de un fichero",
    "Final exercise 2: a server that writes each message as a line of a file",
    (SF2,),
    seconds=14,
)
QUOTE_F2 = (
    "Hacer un servidor que cree un fichero y escriba en él una nueva línea con cada "
    "mensaje recibido de un cliente (por ejemplo el cliente v2 o usando netcat)."
)
QUOTE_F2_END = "El servidor terminará el fichero cuando lleve más de 5 segundos sin recibir nada."
FIRST_MESSAGES = [b"mensaje uno", b"mensaje dos\n", b"tres tristes tigres"]
BURST = [f"rafaga {i:03d}".encode() for i in range(100)]
LATE = b"llega tarde pero a tiempo"


def _final2(ctx: Context):
    """The run every final-2 clause judges: messages, a burst, a late one, then silence."""

    def run():
        prog, err = started_server(ctx, SF2, None)
        if err:
            return prog, err, "", [], 0.0, 0.0
        port = min(prog.udp_ports())
        peer = ctx.peer()
        for data in FIRST_MESSAGES:
            peer.sendto(data, (LOCAL, port))
            time.sleep(0.05)
        for data in BURST:
            peer.sendto(data, (LOCAL, port))
        time.sleep(3.5)  # less than 5 s: the server must still be writing
        alive_late = prog.alive()
        peer.sendto(LATE, (LOCAL, port))
        last = time.monotonic() - prog.start
        deadline = time.monotonic() + 9.0
        name = ""
        while time.monotonic() < deadline and prog.alive():
            name = name or _file(ctx)
            if name and not _held_open(prog, name) and time.monotonic() - prog.start > last + 5:
                break
            time.sleep(0.1)
        ended = (prog.end if not prog.alive() else time.monotonic() - prog.start) - last
        still = prog.alive() and bool(name) and _held_open(prog, name)
        prog.stop()
        name = _file(ctx)
        lines = []
        if name:
            with open(os.path.join(ctx.work, name), encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        return prog, None, name, lines, (-1.0 if still else ended), (1.0 if alive_late else 0.0)

    return ctx.once("final2", run)


def _file(ctx: Context) -> str:
    """The file the server wrote: ``--final2-file``, or the new file in its folder."""
    if ctx.final2_file:
        return ctx.final2_file if os.path.exists(os.path.join(ctx.work, ctx.final2_file)) else ""
    new = sorted(set(os.listdir(ctx.work)) - ctx.initial)
    for name in new:
        path = os.path.join(ctx.work, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                if b"mensaje uno" in f.read():
                    return name
    return ""


def _held_open(prog: Program, name: str) -> bool:
    try:
        fds = os.listdir(f"/proc/{prog.pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.path.basename(os.readlink(f"/proc/{prog.pid}/fd/{fd}")) == name:
                return True
        except OSError:
            continue
    return False


def _no_file(ctx: Context) -> Outcome:
    return bad(
        ctx.t("no se encuentra el fichero creado", "no file created"),
        ctx.t(
            "un fichero nuevo con los mensajes (o --final2-file)",
            "a new file with the messages (or --final2-file)",
        ),
        ", ".join(sorted(os.listdir(ctx.work))),
    )


@clause(
    FINAL2,
    "one_line_per_message",
    "Una línea nueva por cada mensaje recibido",
    "One new line for each message received",
    QUOTE_F2,
)
def f2_lines(ctx: Context) -> Outcome:
    prog, err, name, lines, _, _ = _final2(ctx)
    if err:
        return err
    if not name:
        return trouble(ctx, prog, ended_ok=True) or _no_file(ctx)
    sent = [m.strip().decode() for m in [*FIRST_MESSAGES, *BURST, LATE]]
    checked = [m.strip().decode() for m in [*FIRST_MESSAGES, LATE]]
    merged = [line for line in lines if sum(m in line for m in sent) > 1]
    absent = [m for m in checked if not any(m in line for line in lines)]
    got = ctx.t(f"{name}: {len(lines)} líneas", f"{name}: {len(lines)} lines")
    if merged:
        return bad(
            ctx.t("varios mensajes en una misma línea", "several messages on one line"),
            ctx.t("un mensaje por línea", "one message per line"),
            got + ": " + short(merged[0]),
        )
    if absent:
        return bad(
            ctx.t("faltan mensajes en el fichero", "messages missing from the file"),
            ", ".join(map(repr, checked)),
            got + ctx.t("; faltan ", "; missing ") + ", ".join(map(repr, absent)),
        )
    return ok(got)


@clause(
    FINAL2,
    "keeps_a_burst",
    "No pierde mensajes de una ráfaga (100 seguidos)",
    "It loses no message of a burst (100 in a row)",
    QUOTE_F2,
)
def f2_burst(ctx: Context) -> Outcome:
    prog, err, name, lines, _, _ = _final2(ctx)
    if err:
        return err
    if not name:
        return trouble(ctx, prog, ended_ok=True) or _no_file(ctx)
    text = "\n".join(lines)
    lost = [m.decode() for m in BURST if m.decode() not in text]
    if lost:
        return bad(
            ctx.t(
                f"pierde {len(lost)} de {len(BURST)} mensajes",
                f"loses {len(lost)} of {len(BURST)} messages",
            ),
            ctx.t(f"las {len(BURST)} líneas", f"all {len(BURST)} lines"),
            ctx.t("faltan: ", "missing: ") + short(", ".join(lost)),
        )
    return ok(ctx.t(f"{len(BURST)} de {len(BURST)}", f"{len(BURST)} of {len(BURST)}"))


@clause(
    FINAL2,
    "ends_after_5s_silence",
    "Termina el fichero tras más de 5 s sin recibir nada, no antes",
    "It finishes the file after more than 5 s without receiving, not before",
    QUOTE_F2_END,
)
def f2_end(ctx: Context) -> Outcome:
    prog, err, name, lines, ended, alive_late = _final2(ctx)
    if err:
        return err
    if not name:
        return trouble(ctx, prog, ended_ok=True) or _no_file(ctx)
    if not alive_late or not any(LATE.decode() in line for line in lines):
        return bad(
            ctx.t("termina antes de 5 s de silencio", "it ends before 5 s of silence"),
            ctx.t(
                "un mensaje tras 3.5 s de silencio se guarda",
                "a message after 3.5 s of silence is written",
            ),
            tail(prog),
        )
    if ended < 0:
        return bad(
            ctx.t("no termina el fichero", "it does not finish the file"),
            ctx.t(
                "fichero cerrado o fin del programa tras 5 s",
                "file closed or program ended after 5 s",
            ),
            ctx.t("el fichero sigue abierto 9 s después", "file still open 9 s later"),
        )
    got = ctx.t(
        f"terminado {ended:.1f} s después del último mensaje",
        f"finished {ended:.1f} s after the last message",
    )
    return trouble(ctx, prog, ended_ok=True) or ok(got)
