"""Clauses of v2.0 (exceptions, exercise 6) and exercise 7 (the non-blocking server v25)."""

from __future__ import annotations

import re
import time

from udpeco.check.clauses_v1 import _echo_check, client_sends, v1_server
from udpeco.check.common import PATIENCE, exchange, plain, short, started_server, tail, trouble
from udpeco.check.model import Context, Outcome, bad, clause, exercise, ok

SV2, CV2 = "servidor_eco_v2.py", "cliente_eco_v2.py"
SV25 = "servidor_eco_v25.py"

V2 = exercise(
    "v2",
    "Servidor y cliente de eco v2.0: excepciones (ejercicio 6)",
    "Echo server and client v2.0: exceptions (exercise 6)",
    (SV2, CV2),
    seconds=4,
)


@clause(
    V2,
    "server_echoes",
    "El servidor v2 hace eco",
    "Server v2 echoes",
    "Ejecuta la versión 2 del servidor y del cliente.",
)
def v2_echoes(ctx: Context) -> Outcome:
    return _echo_check(ctx, SV2)


@clause(
    V2,
    "bind_error_message",
    "Bind en una dirección en uso: 'Codigo de Error : 98' sin traceback",
    "Bind on an address in use: 'Codigo de Error : 98', no traceback",
    "print 'Fallo en bind. Codigo de Error : ' + str(msg[0]) + ' Mensaje ' + msg[1]",
)
def v2_bind_error(ctx: Context) -> Outcome:
    first, err = v1_server(ctx, SV2)
    if err:
        return err
    second = ctx.start(SV2)
    if not second.wait(5):
        return bad(
            ctx.t("el segundo servidor no termina", "the second server does not end"),
            "Codigo de Error : 98",
            ctx.t("sigue en marcha tras 5 s: ", "still running after 5 s: ") + tail(second),
        )
    tb = trouble(ctx, second, ended_ok=True)
    if tb:
        return tb
    text = second.out.text + second.err.text
    if "codigo de error : 98" not in plain(text):
        return bad(
            ctx.t("no imprime el código de error 98", "does not print error code 98"),
            "Fallo en bind. Codigo de Error : 98 Mensaje ...",
            short(text) or "(nada)",
        )
    return ok(short(next(line for line in text.splitlines() if "98" in line)))


@clause(
    V2,
    "client_sends_and_prints_reply",
    "El cliente v2 envía cada frase y muestra la respuesta",
    "Client v2 sends each sentence and shows the reply",
    "Ejecuta la versión 2 del servidor y del cliente.",
)
def v2_client(ctx: Context) -> Outcome:
    return client_sends(ctx, CV2)


# ------------------------------------------------------------------------------------------
EX7 = exercise(
    "ex7",
    "Ejercicio 7: servidor no bloqueante (servidor_eco_v25.py)",
    "Exercise 7: non-blocking server (servidor_eco_v25.py)",
    (SV25,),
    seconds=5,
)
FALLIDA = re.compile(r"recepci[oó]n fallida", re.I)


def _v25(ctx: Context):
    # A spinning v25 prints "recepción fallida" nonstop: that is judged by no_busy_wait.
    return ctx.once("server:" + SV25, lambda: started_server(ctx, SV25, {44444}, flood=None))


@clause(
    EX7,
    "prints_recepcion_fallida",
    'Sin nada que leer, imprime "recepción fallida"',
    'With nothing to read, it prints "recepción fallida"',
    "Reescribe el código del servidor (en un nuevo fichero llamado servidor_eco_v25.py) para "
    "que no se bloquee y capturar la excepción si no se recibe nada justo al ejecutar el "
    'método recvfrom, imprimiendo el mensaje "recepción fallida".',
)
def ex7_message(ctx: Context) -> Outcome:
    prog, err = _v25(ctx)
    if err:
        return err
    i = prog.out.wait_for(FALLIDA, 3.0)
    if i < 0:
        return trouble(ctx, prog) or bad(
            ctx.t('no imprime "recepción fallida"', 'does not print "recepción fallida"'),
            "recepción fallida",
            tail(prog),
        )
    return ok(short(prog.out.snapshot()[i][1]))


@clause(
    EX7,
    "echoes",
    "Sigue haciendo eco",
    "It still echoes",
    "Reescribe el código del servidor [...] para que no se bloquee",
)
def ex7_echoes(ctx: Context) -> Outcome:
    prog, err = _v25(ctx)
    if err:
        return err
    got = exchange(ctx.peer(), b"hola v25", 44444, timeout=PATIENCE)
    if got is None:
        return trouble(ctx, prog) or bad(
            ctx.t("no llega el eco", "no echo came back"),
            "hola v25",
            ctx.t("nada en 3 s", "nothing in 3 s"),
        )
    return ok(repr(got[0]))


#: A program busy (running or waiting for a CPU) more than this share of the time spins.
SPIN = 0.5


@clause(
    EX7,
    "no_busy_wait",
    "No gasta un núcleo entero esperando (bucle no bloqueante, no un bucle activo)",
    "It does not burn a whole core while waiting (non-blocking, not spinning)",
    "Este comportamiento puede ser cambiado para que un socket no se bloquee nunca. Para ello "
    "se usa el método de objeto setblocking(0)",
)
def ex7_spin(ctx: Context) -> Outcome:
    prog, err = _v25(ctx)
    if err:
        return err
    b0, t0 = prog.busy_seconds(), time.monotonic()
    c0 = prog.cpu_seconds()
    time.sleep(2.0)
    b1, t1 = prog.busy_seconds(), time.monotonic()
    c1 = prog.cpu_seconds()
    if b1 < 0 or not prog.alive():
        return trouble(ctx, prog) or bad(ctx.t("ha terminado", "it ended"), "", tail(prog))
    share = (b1 - b0) / (t1 - t0)
    cpu = (c1 - c0) / (t1 - t0)
    got = ctx.t(
        f"{share:.0%} del tiempo ocupado (CPU {cpu:.0%})",
        f"busy {share:.0%} of the time (CPU {cpu:.0%})",
    )
    if share > SPIN:
        return bad(
            ctx.t("bucle activo: gasta CPU sin parar", "busy loop: it burns CPU nonstop"),
            ctx.t(
                f"ocupado menos del {SPIN:.0%} del tiempo (p.ej. una pausa entre intentos)",
                f"busy under {SPIN:.0%} of the time (e.g. a pause between tries)",
            ),
            got,
        )
    return ok(got)
