"""Clauses of v1.0 (Listados 1 and 2) and exercises 1, 2 and 4."""

from __future__ import annotations

import re
import time

from udpeco.check.common import (
    LOCAL,
    PATIENCE,
    EchoPeer,
    exchange,
    short,
    started_server,
    tail,
    trouble,
    wait_output,
)
from udpeco.check.model import Context, Outcome, bad, clause, exercise, ok
from udpeco.check.proc import Program, udp_sockets

SV1, CV1 = "servidor_eco_v1.py", "cliente_eco_v1.py"
SV14, CV14 = "servidor_eco_v1_4.py", "cliente_eco_v1_4.py"

V1 = exercise(
    "v1",
    "Servidor y cliente de eco v1.0 (Listados 1 y 2, ejercicios 1 y 2)",
    "Echo server and client v1.0 (Listings 1 and 2, exercises 1 and 2)",
    (SV1, CV1),
    seconds=4,
)


def v1_server(ctx: Context, name: str = SV1) -> tuple[Program, Outcome | None]:
    """The server started once per exercise (shared by the clauses that talk to it)."""
    return ctx.once(f"server:{name}", lambda: started_server(ctx, name, {44444}))


@clause(
    V1,
    "server_binds_44444",
    "El servidor abre *:44444",
    "The server binds *:44444",
    "El servidor crea un socket udp y le asigna la dirección *:44444 (i.e. cualquier "
    "dirección IP del equipo y el puerto 44.444).",
)
def v1_binds(ctx: Context) -> Outcome:
    prog, err = v1_server(ctx)
    if err:
        return err
    addrs = {addr for port, addr in udp_sockets(prog.pid) if port == 44444}
    if not addrs & {"00000000", "00000000000000000000000000000000"}:
        return bad(
            ctx.t("el socket no está en todas las direcciones", "not bound to every address"),
            "*:44444 (0.0.0.0)",
            ", ".join(sorted(addrs)),
        )
    return ok("*:44444")


def _echo_check(ctx: Context, name: str) -> Outcome:
    prog, err = v1_server(ctx, name)
    if err:
        return err
    peer = ctx.peer()
    got = exchange(peer, b"hola", 44444, timeout=PATIENCE)
    if got is None:
        return trouble(ctx, prog) or bad(
            ctx.t("no llega el eco", "no echo came back"),
            "hola",
            ctx.t("nada en 2 s", "nothing in 2 s"),
        )
    reply, addr = got
    if addr[1] != 44444:
        return bad(
            ctx.t("el eco no sale del puerto 44444", "the echo does not leave port 44444"),
            "44444",
            str(addr[1]),
        )
    return ok(repr(reply))


@clause(
    V1,
    "server_echoes",
    "El servidor responde al origen con el mismo mensaje",
    "The server answers the sender with the same message",
    "(a) lee un mensaje y (b) responde al origen (socket remoto) con el mismo mensaje.",
)
def v1_echoes(ctx: Context) -> Outcome:
    return _echo_check(ctx, SV1)


MESSAGE = "Message[{ip}:{port}] - {data}"


@clause(
    V1,
    "server_prints_message",
    "El servidor imprime Message[ip:puerto] - datos",
    "The server prints Message[ip:port] - data",
    "print 'Message[' + addr[0] + ':' + str(addr[1]) + '] - ' + data.strip()",
)
def v1_prints(ctx: Context) -> Outcome:
    prog, err = v1_server(ctx)
    if err:
        return err
    peer = ctx.peer()
    if exchange(peer, b"mensaje impreso", 44444, timeout=PATIENCE) is None:
        return bad(ctx.t("no llega el eco", "no echo came back"), "mensaje impreso", "-")
    want = MESSAGE.format(ip=LOCAL, port=peer.getsockname()[1], data="mensaje impreso")
    if wait_output(prog, want, PATIENCE) is None:
        return trouble(ctx, prog) or bad(
            ctx.t("no imprime la línea del mensaje", "does not print the message line"),
            want,
            tail(prog),
        )
    return ok(want)


@clause(
    V1,
    "one_socket_two_clients",
    "Un mismo socket sirve a dos clientes a la vez (ejercicio 1)",
    "One socket serves two clients at once (exercise 1)",
    "Como vemos, un servidor udp sirve a varios clientes con el mismo socket.",
)
def v1_two_clients(ctx: Context) -> Outcome:
    prog, err = v1_server(ctx)
    if err:
        return err
    a, b = ctx.peer(), ctx.peer()
    a.sendto(b"cliente uno", (LOCAL, 44444))
    b.sendto(b"cliente dos", (LOCAL, 44444))
    from udpeco.check.common import receive

    ra, rb = receive(a, b"cliente uno", PATIENCE), receive(b, b"cliente dos", PATIENCE)
    if ra is None or rb is None:
        return trouble(ctx, prog) or bad(
            ctx.t("no responde a los dos clientes", "does not answer both clients"),
            ctx.t("un eco a cada cliente", "one echo to each client"),
            ctx.t(f"uno: {ra is not None}, dos: {rb is not None}", f"one: {ra}, two: {rb}"),
        )
    return ok(
        ctx.t("eco a los puertos ", "echo to ports ") + f"{a.getsockname()[1]}, "
        f"{b.getsockname()[1]}"
    )


@clause(
    V1,
    "second_server_fails",
    "Un segundo servidor en el mismo puerto da error (ejercicio 2)",
    "A second server on the same port fails (exercise 2)",
    "En un terminal nuevo ejecuta otro servidor más (además del servidor que ya estás "
    "ejecutando). ¿Da error en la ejecución?",
)
def v1_second(ctx: Context) -> Outcome:
    first, err = v1_server(ctx)
    if err:
        return err
    second = ctx.start(SV1)
    if not second.wait(5):
        return bad(
            ctx.t("el segundo servidor no termina", "the second server does not end"),
            ctx.t("un error de bind (puerto en uso)", "a bind error (port in use)"),
            ctx.t("sigue en marcha tras 5 s", "still running after 5 s"),
        )
    text = second.out.text + second.err.text
    if second.returncode == 0 and not re.search(r"98|in use|en uso", text):
        return bad(
            ctx.t("el segundo servidor no informa de error", "the second server reports no error"),
            ctx.t("un error (dirección en uso)", "an error (address in use)"),
            short(text) or ctx.t("nada, código 0", "nothing, exit code 0"),
        )
    return ok(tail(second, 1))


@clause(
    V1,
    "dot_stops_server",
    "El servidor termina al recibir '.'",
    "The server stops when it receives '.'",
    "# stopping when '.' is received\n    if data.strip() == '.':\n        break",
)
def v1_dot(ctx: Context) -> Outcome:
    return _dot_stops(ctx, SV1)


def _dot_stops(ctx: Context, name: str) -> Outcome:
    # Last use of the shared server: run after the other server clauses (clause order).
    prog, err = v1_server(ctx, name)
    if err:
        return err
    peer = ctx.peer()
    peer.sendto(b".", (LOCAL, 44444))
    return ends_on_dot(ctx, prog)


def ends_on_dot(ctx: Context, prog: Program, seconds: float = 3.0) -> Outcome:
    """``prog``, which has just received a '.', ends within ``seconds``: ok with its exit
    code."""
    if not prog.wait(seconds):
        return trouble(ctx, prog) or bad(
            ctx.t("no termina al recibir '.'", "does not end on '.'"),
            ctx.t("termina", "ends"),
            ctx.t(f"sigue en marcha {seconds:g} s después", f"still running {seconds:g} s later"),
        )
    return trouble(ctx, prog, ended_ok=True) or ok(
        ctx.t("terminó, código ", "ended, exit code ") + str(prog.returncode)
    )


@clause(
    V1,
    "client_sends_and_prints_reply",
    "El cliente envía cada frase y muestra la respuesta, con un solo socket",
    "The client sends each sentence and shows the reply, from one socket",
    "Después entra en un bucle infinito en el que se pide al usuario que introduzca una frase "
    "por teclado. Al terminar la frase se la envía al servidor y se queda bloqueado a la "
    "espera de recibir la respuesta.",
)
def v1_client(ctx: Context) -> Outcome:
    return client_sends(ctx, CV1)


def client_sends(ctx: Context, name: str, *extra: object) -> Outcome:
    peer = EchoPeer(ctx, 0, reply=b"")
    prog = ctx.start(name, LOCAL, peer.port, *extra)
    seen = []
    for i, text in enumerate(("hola", "que tal"), start=1):
        prog.type(text + "\n")
        if not peer.wait(i, PATIENCE):
            return trouble(ctx, prog) or bad(
                ctx.t(f"no envía la frase {text!r}", f"does not send {text!r}"),
                ctx.t(f"un datagrama {text!r}", f"a datagram {text!r}"),
                ctx.t("nada en 3 s; salida: ", "nothing in 3 s; output: ") + tail(prog),
            )
        data = peer.got[-1][1]
        if data.rstrip(b"\r\n") != text.encode():
            return bad(ctx.t("envía otra cosa", "sends something else"), repr(text), repr(data))
        if wait_output(prog, text, PATIENCE) is None:
            return trouble(ctx, prog) or bad(
                ctx.t("no muestra la respuesta (¿bloqueado?)", "does not show the reply (hung?)"),
                ctx.t(f"una línea con {text!r}", f"a line with {text!r}"),
                tail(prog),
            )
        seen.append(peer.got[-1][2][1])
    if len(set(seen)) != 1:
        return bad(
            ctx.t("usa un socket nuevo para cada frase", "uses a new socket per sentence"),
            ctx.t("el mismo puerto de origen", "the same source port"),
            str(seen),
        )
    return trouble(ctx, prog) or ok(ctx.t("desde el puerto ", "from port ") + str(seen[0]))


# ------------------------------------------------------------------------------------------
EX4 = exercise(
    "ex4",
    "Ejercicio 4: el cliente termina al recibir '.'",
    "Exercise 4: the client ends when it receives '.'",
    (SV14, CV14),
    seconds=4,
)


@clause(
    EX4,
    "client_leaves_on_dot",
    "El cliente sale del bucle y termina al recibir '.'",
    "The client leaves its loop and ends when it receives '.'",
    "Cambia el código del cliente para que se salga del bucle y termine cuando reciba '.'",
)
def ex4_client(ctx: Context) -> Outcome:
    peer = EchoPeer(ctx, 0)
    prog = ctx.start(CV14, LOCAL, peer.port)
    prog.type("hola\n")
    if not peer.wait(1, PATIENCE) or wait_output(prog, "hola", PATIENCE) is None:
        return trouble(ctx, prog) or bad(
            ctx.t("no hay eco de 'hola'", "no echo of 'hola'"), "hola", tail(prog)
        )
    if not prog.alive():
        return bad(
            ctx.t("termina sin haber recibido '.'", "ends without receiving '.'"),
            ctx.t("sigue en marcha tras 'hola'", "keeps running after 'hola'"),
            tail(prog),
        )
    peer.reply = b"."  # from now on the peer answers '.'
    prog.type("adios\n")
    return ends_on_dot(ctx, prog)


@clause(
    EX4,
    "server_sends_dot",
    "El servidor envía '.' al cliente",
    "The server sends '.' to the client",
    "Ello implica cambiar también el servidor para que envíe dicho carácter después de "
    "responder a un cliente.",
)
def ex4_server(ctx: Context) -> Outcome:
    prog, err = started_server(ctx, SV14, {44444})
    if err:
        return err
    peer = ctx.peer()
    from udpeco.check.common import receive

    peer.sendto(b"hola", (LOCAL, 44444))
    first = receive(peer, None, PATIENCE)
    if first is not None and first[0].strip() == b".":
        return ok(ctx.t("'.' tras el eco", "'.' after the echo"))
    peer.sendto(b".", (LOCAL, 44444))
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        got = receive(peer, None, deadline - time.monotonic())
        if got is None:
            break
        if got[0].strip() == b".":
            return ok(ctx.t("'.' en respuesta a '.'", "'.' in answer to '.'"))
    return trouble(ctx, prog, ended_ok=True) or bad(
        ctx.t("el servidor nunca envía '.'", "the server never sends '.'"),
        "'.'",
        ctx.t("ningún '.' en 5 s", "no '.' in 5 s"),
    )
