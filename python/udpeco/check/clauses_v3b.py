"""Clauses of v3b (settimeout, Listado 4), exercise 11 and the select-on-stdin example."""

from __future__ import annotations

import re
import time

from udpeco.check.clauses_v3 import PORTS
from udpeco.check.common import (
    LOCAL,
    PATIENCE,
    exchange,
    receive,
    short,
    started_server,
    tail,
    trouble,
    wait_output,
)
from udpeco.check.model import Context, Outcome, bad, clause, exercise, ok

SV3B, SV3B11, STDIN = "servidor_eco_v3b.py", "servidor_eco_v3b_11.py", "select_stdin.py"

V3B = exercise(
    "v3b",
    "Servidor de eco v3b con settimeout (Listado 4)",
    "Echo server v3b with settimeout (Listing 4)",
    (SV3B,),
    seconds=8,
)
QUOTE4 = (
    "Con este método simplemente le damos un plazo máximo a un socket para que cualquier "
    "método bloqueante sea ejecutado. Si no se ejecuta, salta una excepción de tipo "
    "timeout."
)


def _v3b(ctx: Context):
    def run():
        prog, err = started_server(ctx, SV3B, {8888})
        if err:
            return prog, err, None, 0.0
        got = exchange(ctx.peer(), b"hola v3b", 8888, timeout=PATIENCE)
        last = time.monotonic() - prog.start
        prog.wait(9.0)
        return prog, None, got, last

    return ctx.once("v3b", run)


@clause(
    V3B,
    "echoes",
    "Hace eco en el puerto 8888",
    "It echoes on port 8888",
    "s.bind(('', 8888)) ... data, addr = s.recvfrom(1024) ... sendto(reply, addr)",
)
def v3b_echoes(ctx: Context) -> Outcome:
    prog, err, got, _ = _v3b(ctx)
    if err:
        return err
    if got is None:
        return trouble(ctx, prog, ended_ok=True) or bad(
            ctx.t("no llega el eco", "no echo"), "hola v3b", tail(prog)
        )
    return ok(repr(got[0]))


@clause(
    V3B,
    "timeout_after_5s",
    "Tras 5 s sin recibir nada salta el timeout: lo imprime y termina",
    "After 5 s without receiving anything the timeout fires: it says so and ends",
    QUOTE4,
)
def v3b_timeout(ctx: Context) -> Outcome:
    prog, err, _, last = _v3b(ctx)
    if err:
        return err
    if prog.alive():
        return trouble(ctx, prog) or bad(
            ctx.t("no termina tras el timeout", "does not end after the timeout"),
            ctx.t("fin 5 s después del último mensaje", "end 5 s after the last message"),
            ctx.t("en marcha 9 s después: ", "running 9 s later: ") + tail(prog),
        )
    took = (prog.end or 0) - last
    said = [line for t, line in prog.out.snapshot() if t >= last and line.strip()]
    got = ctx.t(f"terminó a los {took:.1f} s: ", f"ended after {took:.1f} s: ") + short(
        said[-1] if said else "(nada)"
    )
    if not 4.7 <= took <= 6.5:
        return bad(ctx.t("el timeout no es de 5 s", "the timeout is not 5 s"), "5 s", got)
    if not said:
        return bad(
            ctx.t("termina sin imprimir nada", "ends without printing anything"),
            "** Exception: socket... after 5.0 seg.",
            got,
        )
    return trouble(ctx, prog, ended_ok=True) or ok(got)


# ------------------------------------------------------------------------------------------
EX11 = exercise(
    "ex11",
    "Ejercicio 11: v3b con dos sockets y settimeout",
    "Exercise 11: v3b with two sockets and settimeout",
    (SV3B11,),
    seconds=14,
)
QUOTE11 = (
    "Es decir, que cree dos sockets y que se pueda recibir por cualquiera de ellos, "
    "mostrando un mensaje por pantalla si pasan más de 5 segundos sin recibir nada."
)


def _ex11(ctx: Context):
    def run():
        prog, err = started_server(ctx, SV3B11, PORTS)
        if err:
            return prog, err, {}, 0.0
        peer = ctx.peer()
        replies = {}
        for port in sorted(PORTS):  # settimeout watches one socket at a time: up to 5 s each
            peer.sendto(f"hola {port}".encode(), (LOCAL, port))
            replies[port] = receive(peer, f"hola {port}".encode(), 11.0)
        return prog, None, replies, time.monotonic() - prog.start

    return ctx.once("ex11", run)


@clause(
    EX11,
    "both_sockets_echo",
    "Se recibe y se hace eco por cualquiera de los dos sockets",
    "It receives and echoes on either socket",
    QUOTE11,
)
def ex11_both(ctx: Context) -> Outcome:
    prog, err, replies, _ = _ex11(ctx)
    if err:
        return err
    missing = [p for p, r in replies.items() if r is None]
    if missing:
        return trouble(ctx, prog) or bad(
            ctx.t("sin eco en el puerto ", "no echo on port ") + ", ".join(map(str, missing)),
            "8888, 9999",
            tail(prog),
        )
    return ok("8888, 9999")


@clause(
    EX11,
    "silence_message",
    "Tras más de 5 s sin recibir nada muestra un mensaje",
    "After more than 5 s without receiving anything it shows a message",
    QUOTE11,
)
def ex11_silence(ctx: Context) -> Outcome:
    prog, err, _, last = _ex11(ctx)
    if err:
        return err
    deadline = time.monotonic() + 11.0
    found: list[tuple[float, str]] = []
    while time.monotonic() < deadline and not found:
        found = [
            (t, line)
            for t, line in prog.out.snapshot()
            if t > last + 0.2 and line.strip() and "hola" not in line
        ]
        if not prog.alive():
            break
        time.sleep(0.05)
    if not found:
        return trouble(ctx, prog, ended_ok=True) or bad(
            ctx.t("no muestra ningún mensaje tras el silencio", "shows no message after silence"),
            ctx.t("un mensaje a partir de 5 s", "a message from 5 s on"),
            tail(prog),
        )
    after = found[0][0] - last
    got = ctx.t(f"a los {after:.1f} s: ", f"after {after:.1f} s: ") + short(found[0][1])
    if after < 4.7:
        return bad(
            ctx.t("el mensaje sale antes de 5 s", "the message comes before 5 s"), "> 5 s", got
        )
    return trouble(ctx, prog, ended_ok=True) or ok(got)


# ------------------------------------------------------------------------------------------
STDIN_EX = exercise(
    "select_stdin",
    "select sobre la entrada estándar con plazo de 3 s",
    "select on standard input with a 3 s limit",
    (STDIN,),
    seconds=5,
)
QUOTE_STDIN = (
    "Prueba a cambiar el ejemplo anterior para exigir que el usuario escriba algo en "
    "menos de 3 segundos. Como puedes comprobar, transcurridos 3 segundos la función "
    "select devuelve una lista vacía y continúa la ejecución del programa."
)


@clause(
    STDIN_EX,
    "reads_typed_line",
    "Lee y muestra lo que se escribe a tiempo",
    "It reads and shows what is typed in time",
    "rlist debería contener [sys.stdin] cuando existan datos disponibles para leer en stdin "
    "... Estos datos son leídos posteriormente con el método read() del objeto",
)
def stdin_reads(ctx: Context) -> Outcome:
    prog = ctx.start(STDIN)
    prog.type("escrito a tiempo\n")
    prog.close_stdin()  # read() reads up to the end of the input
    line = wait_output(prog, "escrito a tiempo", PATIENCE)
    if line is None:
        return trouble(ctx, prog, ended_ok=True) or bad(
            ctx.t("no muestra lo escrito", "does not show what was typed"),
            "escrito a tiempo",
            tail(prog),
        )
    prog.wait(2.0)
    return trouble(ctx, prog, ended_ok=True) or ok(short(line[1]))


@clause(
    STDIN_EX,
    "gives_up_after_3s",
    "Sin nada escrito, sigue a los 3 s (no antes)",
    "With nothing typed, it goes on after 3 s (not before)",
    QUOTE_STDIN,
)
def stdin_gives_up(ctx: Context) -> Outcome:
    prog = ctx.start(STDIN)  # stdin stays open and empty: nobody types
    deadline = time.monotonic() + 8.0
    shown: list[tuple[float, str]] = []
    while time.monotonic() < deadline and prog.alive():
        shown = [(t, line) for t, line in prog.out.snapshot() if re.search(r"\[\s*\]", line)]
        if shown:
            break
        time.sleep(0.05)
    if shown:
        when, what = shown[0]
    elif not prog.alive():
        when, what = prog.end or 0.0, ctx.t("terminó", "ended")
    else:
        return trouble(ctx, prog) or bad(
            ctx.t("sigue esperando tras 8 s", "still waiting after 8 s"),
            ctx.t("la lista vacía a los 3 s", "the empty list after 3 s"),
            tail(prog),
        )
    got = ctx.t(f"a los {when:.1f} s: ", f"after {when:.1f} s: ") + short(what)
    if not 2.8 <= when <= 6.5:
        return bad(ctx.t("el plazo no es de 3 s", "the limit is not 3 s"), "3 s", got)
    return trouble(ctx, prog, ended_ok=True) or ok(got)
