"""Clauses of v3.0 (select, Listado 3) and exercises 8, 9 and 10."""

from __future__ import annotations

import time

from udpeco.check.common import (
    LOCAL,
    PATIENCE,
    EchoPeer,
    exchange,
    plain,
    receive,
    short,
    started_server,
    tail,
    trouble,
    wait_output,
)
from udpeco.check.model import Context, Outcome, bad, cannot, clause, exercise, ok
from udpeco.check.proc import Program

SV3, SV39, SV310, CV310 = (
    "servidor_eco_v3.py",
    "servidor_eco_v3_9.py",
    "servidor_eco_v3_10.py",
    "cliente_eco_v3_10.py",
)
PORTS = {8888, 9999}
SILENCE = "han pasado 5 seg sin recibir nada por ningun socket"

V3 = exercise(
    "v3",
    "Servidor de eco v3.0 con select (Listado 3, ejercicio 8)",
    "Echo server v3.0 with select (Listing 3, exercise 8)",
    (SV3,),
    seconds=8,
)


def _both(ctx: Context, name: str) -> dict[int, tuple[bytes, tuple[str, int]] | None]:
    """One datagram to each port (8888 first, then 9999): the reply each got."""
    peer = ctx.peer()
    out = {}
    for port in sorted(PORTS):
        out[port] = exchange(peer, f"hola {port}".encode(), port, timeout=PATIENCE)
    ctx.once("last_datagram:" + name, time.monotonic)
    return out


def _v3(ctx: Context, name: str = SV3):
    def start():
        prog, err = started_server(ctx, name, PORTS)
        return prog, err, (None if err else _both(ctx, name))

    return ctx.once("v3:" + name, start)


@clause(
    V3,
    "both_sockets_echo",
    "Los dos sockets (8888 y 9999) hacen eco",
    "Both sockets (8888 and 9999) echo",
    "En caso de que ocurra (p.ej. se reciben datos en s ó en s2) éstos se imprimen y se "
    "devuelve la respuesta al origen (servicio de eco).",
)
def v3_both(ctx: Context) -> Outcome:
    return both_echo(ctx, SV3)


def both_echo(ctx: Context, name: str) -> Outcome:
    prog, err, replies = _v3(ctx, name)
    if err:
        return err
    missing = [p for p, r in replies.items() if r is None]
    if missing:
        return trouble(ctx, prog) or bad(
            ctx.t("sin eco en el puerto ", "no echo on port ") + ", ".join(map(str, missing)),
            ctx.t("eco en 8888 y en 9999", "an echo on 8888 and on 9999"),
            ", ".join(f"{p}: {'ok' if r else '-'}" for p, r in sorted(replies.items())),
        )
    return ok("8888, 9999")


@clause(
    V3,
    "reply_from_receiving_socket",
    "Cada respuesta sale del socket que recibió el mensaje",
    "Each reply leaves from the socket that received the message",
    "for sock in rlist:\n    data, addr = sock.recvfrom( 1024 ) ...\n    sock.sendto(reply , addr)",
)
def v3_same_socket(ctx: Context) -> Outcome:
    prog, err, replies = _v3(ctx)
    if err:
        return err
    pairs = {p: r[1][1] for p, r in replies.items() if r is not None}
    if not pairs:
        return bad(ctx.t("no hay eco", "no echo"), "8888, 9999", "-")
    wrong = {p: src for p, src in pairs.items() if src != p}
    got = ", ".join(f"{p} -> {src}" for p, src in sorted(pairs.items()))
    if wrong:
        return bad(
            ctx.t("la respuesta sale de otro socket", "the reply leaves from another socket"),
            "8888 -> 8888, 9999 -> 9999",
            got,
        )
    return ok(got)


@clause(
    V3,
    "prints_received_data",
    "Imprime los datos recibidos",
    "It prints the data received",
    "éstos se imprimen y se devuelve la respuesta al origen",
)
def v3_prints(ctx: Context) -> Outcome:
    prog, err, _ = _v3(ctx)
    if err:
        return err
    for port in sorted(PORTS):
        if wait_output(prog, f"hola {port}", PATIENCE) is None:
            return trouble(ctx, prog) or bad(
                ctx.t("no imprime lo recibido", "does not print what it received"),
                f"hola {port}",
                tail(prog),
            )
    return ok("hola 8888, hola 9999")


def silence_lines(prog: Program, since: float) -> list[tuple[float, str]]:
    return [(t, line) for t, line in prog.out.snapshot() if t >= since and SILENCE in plain(line)]


@clause(
    V3,
    "silence_message_after_5s",
    'Tras 5 s sin recibir nada imprime "Han pasado 5 seg...", no antes',
    'After 5 s without receiving anything it prints "Han pasado 5 seg...", not before',
    "Si expiran los 5 segundos sin que ocurra ningún evento de lectura, el servidor imprime un "
    "mensaje en pantalla.",
)
def v3_silence(ctx: Context) -> Outcome:
    return silence_after(ctx, SV3)


def silence_after(ctx: Context, name: str) -> Outcome:
    prog, err, _ = _v3(ctx, name)
    if err:
        return err
    last = ctx.once("last_datagram:" + name, time.monotonic) - prog.start
    deadline = time.monotonic() + 8.0
    while time.monotonic() < deadline and not silence_lines(prog, last) and prog.alive():
        time.sleep(0.05)
    found = silence_lines(prog, last)
    want = ctx.t(
        '"Han pasado 5 seg sin recibir nada por ningun socket." 5 s después',
        '"Han pasado 5 seg sin recibir nada por ningun socket." 5 s later',
    )
    if not found:
        return trouble(ctx, prog) or bad(
            ctx.t("no imprime el mensaje de los 5 s", "does not print the 5 s message"),
            want,
            tail(prog),
        )
    after = found[0][0] - last
    got = ctx.t(f"a los {after:.1f} s: ", f"after {after:.1f} s: ") + short(found[0][1])
    if not 4.7 <= after <= 6.5:
        return bad(ctx.t("el mensaje no llega a los 5 s", "the message is not at 5 s"), want, got)
    return ok(got)


# ------------------------------------------------------------------------------------------
EX9 = exercise(
    "ex9",
    "Ejercicio 9: tras 20 s seguidos sin recibir nada, cierra y sale (servidor_eco_v3_9.py)",
    "Exercise 9: after 20 s in a row without receiving, close and exit (servidor_eco_v3_9.py)",
    (SV39,),
    seconds=30,
)
QUOTE9 = (
    "Cambiar el servidor (v3) para que cuando pasen 20 segundos seguidos sin recibir "
    "nada, cierre ambos sockets y salga del programa."
)


def _ex9(ctx: Context) -> tuple[Program, Outcome | None, float]:
    """The run both clauses judge: a datagram at once, another after a first 5 s silence
    (so the 20 s must count from the last one), then waiting for the end (30 s at most)."""

    def run():
        prog, err, _ = _v3(ctx, SV39)
        if err:
            return prog, err, 0.0
        time.sleep(6.5)
        exchange(ctx.peer(), b"sigo aqui", 9999, timeout=PATIENCE)
        last = time.monotonic()
        prog.wait(24.0)
        return prog, None, last - prog.start

    return ctx.once("ex9", run)


@clause(
    EX9,
    "exits_after_20s",
    "Sale tras 20 s seguidos sin recibir nada",
    "It exits after 20 s in a row without receiving anything",
    QUOTE9,
)
def ex9_exits(ctx: Context) -> Outcome:
    prog, err, last = _ex9(ctx)
    if err:
        return err
    if prog.alive():
        return trouble(ctx, prog) or bad(
            ctx.t("no sale", "it does not exit"),
            ctx.t("termina 20 s después del último mensaje", "ends 20 s after the last message"),
            ctx.t("sigue en marcha 24 s después", "still running 24 s later"),
        )
    took = (prog.end or 0) - last
    got = ctx.t(
        f"terminó {took:.1f} s después del último mensaje (código {prog.returncode})",
        f"ended {took:.1f} s after the last message (exit code {prog.returncode})",
    )
    if took > 22.5:
        return bad(ctx.t("sale demasiado tarde", "it exits too late"), "20 s", got)
    return trouble(ctx, prog, ended_ok=True) or ok(got)


@clause(
    EX9,
    "not_before_20s",
    "No sale antes de 20 s seguidos de silencio (un mensaje reinicia la cuenta)",
    "It does not exit before 20 s of silence in a row (a message restarts the count)",
    QUOTE9,
)
def ex9_not_before(ctx: Context) -> Outcome:
    prog, err, last = _ex9(ctx)
    if err:
        return err
    if prog.alive():
        return ok(ctx.t("en marcha 24 s después", "running 24 s later"))
    took = (prog.end or 0) - last
    got = ctx.t(
        f"terminó {took:.1f} s después del último mensaje",
        f"ended {took:.1f} s after the last message",
    )
    if took < 19.5:
        return bad(
            ctx.t(
                "sale antes de 20 s seguidos sin recibir nada",
                "it exits before 20 s in a row without receiving",
            ),
            "20 s",
            got,
        )
    return ok(got)


@clause(
    EX9,
    "both_sockets_echo",
    "Los dos sockets siguen haciendo eco",
    "Both sockets still echo",
    QUOTE9,
)
def ex9_both(ctx: Context) -> Outcome:
    return both_echo(ctx, SV39)


# ------------------------------------------------------------------------------------------
EX10 = exercise(
    "ex10",
    "Ejercicio 10: eco tras 3 s y cliente que espera como mucho X s",
    "Exercise 10: echo after 3 s, and a client that waits at most X s",
    (SV310, CV310),
    seconds=14,
)


@clause(
    EX10,
    "server_sleeps_3s",
    "El servidor duerme 3 s antes de responder",
    "The server sleeps 3 s before answering",
    "Cambiar el servidor (v3) para que duerma 3 segundos antes de responder con el eco.",
)
def ex10_server(ctx: Context) -> Outcome:
    prog, err = started_server(ctx, SV310, PORTS)
    if err:
        return err
    peer = ctx.peer()
    t0 = time.monotonic()
    got = exchange(peer, b"despacio", 8888, timeout=6.0)
    took = time.monotonic() - t0
    if got is None:
        return trouble(ctx, prog) or bad(
            ctx.t("no llega el eco", "no echo"), "3 s", ctx.t("nada en 6 s", "nothing in 6 s")
        )
    got_s = ctx.t(f"eco a los {took:.1f} s", f"echo after {took:.1f} s")
    if not 2.8 <= took <= 4.5:
        return bad(ctx.t("el eco no tarda 3 s", "the echo does not take 3 s"), "3 s", got_s)
    return ok(got_s)


def _x_mode(ctx: Context) -> tuple[tuple[object, ...], Program, float]:
    """How the client takes X: ``(extra args, run against a silent port, its wait)``.

    Tried at once as ``HOST PORT 1`` and ``HOST PORT 2``: X is an argument when the waits are
    about 1 s and 2 s. Otherwise X is fixed in the program (run as ``HOST PORT`` if it refused
    a third argument). A wait is measured from the datagram to the client's end (-1 if it
    does not end within 30 s).
    """

    def start(extra: tuple[object, ...]):
        sock = ctx.peer()
        prog = ctx.start(CV310, LOCAL, sock.getsockname()[1], *extra)
        prog.type("hola\n")
        return prog, sock

    def probe(started) -> tuple[Program, float]:
        """The program and when its datagram came (-1: none within 4 s)."""
        prog, sock = started
        got = receive(sock, None, 4.0 - (time.monotonic() - prog.start))
        return prog, (time.monotonic() if got is not None else -1.0)

    def waited(prog: Program, sent: float) -> float:
        prog.wait(30.0 - (time.monotonic() - sent))
        return -1.0 if prog.alive() else prog.start + (prog.end or 0) - sent

    def run():
        first, second = start((1,)), start((2,))
        (p1, sent1), (p2, sent2) = probe(first), probe(second)
        if sent1 > 0 and sent2 > 0:
            w1, w2 = waited(p1, sent1), waited(p2, sent2)
            if 0.6 <= w1 <= 1.9 and 1.6 <= w2 <= 2.9:
                return (1,), p1, w1
            return (), p1, w1
        p0, sent0 = probe(start(()))
        return (), p0, (waited(p0, sent0) if sent0 > 0 else -1.0)

    return ctx.once("x", run)


@clause(
    EX10,
    "client_gives_up",
    "Sin respuesta, el cliente imprime un mensaje y termina",
    "Without an answer, the client prints a message and ends",
    "Si no llega respuesta del servidor, imprime un mensaje en pantalla y termina su ejecución.",
)
def ex10_gives_up(ctx: Context) -> Outcome:
    extra, prog, waited = _x_mode(ctx)
    if waited < 0:
        return trouble(ctx, prog, ended_ok=True) or bad(
            ctx.t("no termina sin respuesta", "does not end without an answer"),
            ctx.t("un mensaje y fin tras X s", "a message and its end after X s"),
            ctx.t("sigue esperando tras 30 s: ", "still waiting after 30 s: ") + tail(prog),
        )
    printed = [line for t, line in prog.out.snapshot() if line.strip()]
    how = ctx.t(
        f"X={extra[0]} como argumento" if extra else "X fijo en el programa",
        f"X={extra[0]} as an argument" if extra else "X fixed in the program",
    )
    got = ctx.t(f"terminó a los {waited:.1f} s ({how}): ", f"ended after {waited:.1f} s ({how}): ")
    if not printed:
        return bad(
            ctx.t("termina sin imprimir nada", "ends without printing anything"),
            ctx.t("un mensaje", "a message"),
            got + "(nada)",
        )
    return trouble(ctx, prog, ended_ok=True) or ok(got + short(printed[-1]))


@clause(
    EX10,
    "client_gets_timely_echo",
    "Si el eco llega antes de X s, el cliente lo muestra",
    "An echo that comes within X s is shown",
    "cambia el cliente usando select para que espere al mensaje de eco del servidor no más de "
    "X segundos",
)
def ex10_timely(ctx: Context) -> Outcome:
    extra, _, waited = _x_mode(ctx)
    x = float(str(extra[0])) if extra else waited
    if x <= 0:
        return cannot(
            ctx.t(
                "no se conoce X (el cliente no termina sin respuesta)",
                "X is unknown (the client does not end without an answer)",
            )
        )
    peer = EchoPeer(ctx, 0, delay=min(0.3, x / 3), reply=b"eco a tiempo")
    prog = ctx.start(CV310, LOCAL, peer.port, *extra)
    prog.type("hola\n")
    line = wait_output(prog, "eco a tiempo", PATIENCE)
    if line is None:
        return trouble(ctx, prog) or bad(
            ctx.t("no muestra un eco que llega a tiempo", "does not show an echo in time"),
            "eco a tiempo",
            tail(prog),
        )
    return trouble(ctx, prog) or ok(short(line[1]))


@clause(
    EX10,
    "x1_gives_up_x4_gets_echo",
    "Contra un servidor que tarda 3 s: X=1 se rinde, X=4 recibe el eco",
    "Against a server that takes 3 s: X=1 gives up, X=4 gets the echo",
    "Por ejemplo, para X= 1, no debería recibir la respuesta y salirse. Para X=4 todo debería "
    "ir bien.",
    client=True,
)
def ex10_x1_x4(ctx: Context) -> Outcome:
    extra, _, _ = _x_mode(ctx)
    if not extra:
        return cannot(
            ctx.t(
                "X no es un argumento del cliente: probado con su X fijo",
                "X is not a client argument: checked with its own fixed X",
            )
        )
    # The checker plays servidor_eco_v3_10 (an echo 3 s late), one per client: this judges
    # the client alone (server_sleeps_3s judges the student's server).
    slow4, slow1 = EchoPeer(ctx, 0, delay=3.0), EchoPeer(ctx, 0, delay=3.0)
    c4 = ctx.start(CV310, LOCAL, slow4.port, 4)
    c1 = ctx.start(CV310, LOCAL, slow1.port, 1)
    c4.type("hola X=4\n")
    c1.type("hola X=1\n")
    got4 = wait_output(c4, "hola X=4", PATIENCE + 3)
    ended1 = c1.wait(max(0.0, PATIENCE - (time.monotonic() - c1.start)))
    if got4 is None:
        return trouble(ctx, c4) or bad(
            ctx.t("X=4 no recibe el eco", "X=4 gets no echo"), "hola X=4", tail(c4)
        )
    if not ended1 or wait_output(c1, "hola X=1", 0) is not None:
        return trouble(ctx, c1, ended_ok=True) or bad(
            ctx.t("X=1 no se rinde", "X=1 does not give up"),
            ctx.t("termina sin eco en ~1 s", "ends without echo in ~1 s"),
            tail(c1),
        )
    return ok(ctx.t("X=4: eco; X=1: terminó sin eco", "X=4: echo; X=1: ended without echo"))
