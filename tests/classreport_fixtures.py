"""Realistic `udpeco check --json` reports for the class-report tests, generated, not
hand-written: every exercise of the práctica with its files and clauses, statuses drawn from a
seeded random generator so that a class covers all four (and clauses disagree within an
exercise the way real runs do), and, for hostile students, what a malicious or broken program
prints placed in every field a program can influence."""

from __future__ import annotations

import random
from typing import Any

from udpeco.check.classreport_text import EXERCISES

#: Files, title and a few (clause id, title, práctica sentence) per exercise.
SPEC: dict[str, tuple[list[str], str, list[tuple[str, str, str]]]] = {
    "v1": (["servidor_eco_v1.py", "cliente_eco_v1.py"], "Servidor y cliente de eco", [
        ("echo", "the server echoes", "El servidor devuelve al cliente el mensaje recibido."),
        ("format", "Message[ip:port] - data", "Message[ip:port] - data"),
    ]),
    "ex3": (["servidor_eco_v1.py", "cliente_eco_v1.py"], "Dos máquinas", [
        ("two_hosts", "client and server on two hosts", "Ejecuta el servidor en otra máquina."),
    ]),
    "ex4": (["servidor_eco_v1_4.py", "cliente_eco_v1_4.py"], "Bucle hasta 'fin'", [
        ("loop", "the client loops", "El cliente lee líneas hasta que el usuario escriba fin."),
        ("exit", "the client leaves", "Al escribir fin el cliente termina."),
    ]),
    "ex5": (["servidor_eco_v1.py", "cliente_eco_v1.py"], "Cabecera UDP", [
        ("length", "length = 8 + payload", "El campo longitud incluye la cabecera de 8 bytes."),
    ]),
    "v2": (["servidor_eco_v2.py", "cliente_eco_v2.py"], "Errores de socket", [
        ("errno98", "Codigo de Error : 98", "Codigo de Error : 98"),
    ]),
    "ex7": (["servidor_eco_v25.py"], "Socket no bloqueante", [
        ("nonblocking", "non-blocking loop", "El servidor no se bloquea en recvfrom."),
        ("cpu", "does not spin", "Sin consumir la CPU en espera activa."),
    ]),
    "v3": (["servidor_eco_v3.py"], "Dos sockets con select", [
        ("both_echo", "both sockets echo", "El servidor atiende dos puertos."),
        ("same_socket", "reply from the receiving socket", "Responde por el socket que recibió."),
        ("silence", "5 s message", "Han pasado 5 seg sin recibir nada"),
    ]),
    "ex9": (["servidor_eco_v3_9.py"], "Fin tras silencio", [
        ("exits", "exits after silence", "El servidor termina tras 20 segundos sin datos."),
    ]),
    "ex10": (["servidor_eco_v3_10.py", "cliente_eco_v3_10.py"], "Cliente con timeout", [
        ("timeout", "client gives up", "El cliente espera la respuesta como mucho 2 segundos."),
    ]),
    "v3b": (["servidor_eco_v3b.py"], "select con timeout", [
        ("select", "select with timeout", "Usa el cuarto argumento de select."),
    ]),
    "ex11": (["servidor_eco_v3b_11.py"], "Varios puertos", [
        ("ports", "every port echoes", "Escucha en todos los puertos indicados."),
    ]),
    "select_stdin": (["select_stdin.py"], "select sobre la entrada estándar", [
        ("stdin", "reads stdin and socket", "Atiende al teclado y a la red a la vez."),
    ]),
    "final1": (["servidor_final1.py", "cliente_final1.py"], "Puerto aleatorio", [
        ("prints_port", "prints the port", "El servidor imprime el puerto."),
        ("random", "the port is random", "Elige un puerto al azar."),
    ]),
    "final2": (["servidor_final2.py"], "Fichero de mensajes", [
        ("lines", "one line per message", "Guarda cada mensaje en una línea del fichero."),
        ("burst", "no message lost", "No se pierde ningún mensaje de una ráfaga."),
    ]),
}  # fmt: skip

#: What a hostile program (or student folder name) puts where a report quotes it.
HOSTILE = [
    "<script>document.title='PWNED'</script>",
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">",
    "\"'><b>bold</b>&amp;",
    '=HYPERLINK("http://127.0.0.1/","click")',
    "\x1b[2J\x1b]0;title\x07\r\nlínea 2\x00\x7f\u202eevil",
    ']]></failure><testcase name="forged"/>',
    "-1+2",
]


def make_check(rng: random.Random, cid: str, title: str, quote: str, status: str,
               hostile: bool) -> dict[str, Any]:  # fmt: skip
    got = {
        "pass": "Message[127.0.0.1:41000] - hola",
        "fail": 'Traceback (most recent call last):\n  File "x.py", line 3\nOSError: [Errno 98]',
        "missing": "",
        "not_checkable": "",
    }[status]
    reason = {
        "pass": "ok",
        "fail": f"expected the reply within 2 s, got nothing after {rng.uniform(2, 3):.2f} s",
        "missing": "file not found",
        "not_checkable": "no privilege to create a network namespace (need root)",
    }[status]
    if hostile and status == "fail":
        got = rng.choice(HOSTILE) + "\n" + got
        reason = rng.choice(HOSTILE)
    return {
        "id": cid,
        "title": title,
        "status": status,
        "reason": reason,
        "expected": "Message[127.0.0.1:41000] - hola" if status != "missing" else "",
        "got": got,
        "quote": quote,
        "duration_s": round(rng.uniform(0.01, 3.0), 3),
    }


def exercise_status(checks: list[dict[str, Any]]) -> str:
    statuses = {c["status"] for c in checks}
    for s in ("missing", "fail", "not_checkable"):
        if s in statuses:
            return s
    return "pass"


def make_report(seed: int, *, hostile: bool = False, lang: str = "es") -> dict[str, Any]:
    """One student's report: a file is missing, not checkable, failing or passing at random
    (seeded), each clause of a handed-in exercise passing or failing on its own."""
    rng = random.Random(seed)
    exercises = []
    for eid in EXERCISES:
        files, title, clauses = SPEC[eid]
        fate = rng.choices(["pass", "fail", "missing", "not_checkable"], [5, 3, 1, 1])[0]
        checks = []
        for cid, ctitle, quote in clauses:
            status = fate if fate != "fail" else rng.choice(["pass", "fail"])
            checks.append(make_check(rng, cid, ctitle, quote, status, hostile))
        if fate == "fail" and all(c["status"] == "pass" for c in checks):
            checks[-1] = make_check(rng, *clauses[-1], "fail", hostile)
        exercises.append(
            {
                "id": eid,
                "title": title,
                "files": files,
                "status": exercise_status(checks),
                "checks": checks,
            }  # fmt: skip
        )
    return {
        "student": None,
        "path": f"/tmp/submissions/{seed}",
        "python": "/usr/bin/python3",
        "isolation": "netns",
        "lang": lang,
        "duration_s": round(sum(c["duration_s"] for e in exercises for c in e["checks"]), 3),
        "status": "fail" if any(e["status"] == "fail" for e in exercises) else "pass",
        "exercises": exercises,
    }


def make_class(n: int = 6, seed: int = 1) -> list[tuple[str, dict[str, Any]]]:
    """A class of `n` students: one hostile (name and program output), one who passes
    everything, one who handed in nothing, the rest at random; all four statuses appear."""
    names = ["ana.garcia", "Bea Núñez", HOSTILE[0], "carlos", "=cmd|' /C calc'!A0", "dani"]
    rows = []
    for i in range(n):
        report = make_report(seed * 100 + i, hostile=(i == 2))
        if i == 1:  # passes everything
            for ex in report["exercises"]:
                ex["status"] = "pass"
                for c in ex["checks"]:
                    c.update(status="pass", reason="ok")
        if i == 3:  # handed in nothing
            for ex in report["exercises"]:
                ex["status"] = "missing"
                ex["checks"] = []
        rows.append((names[i % len(names)] + ("" if i < len(names) else f" {i}"), report))
    statuses = {c["status"] for _, r in rows for e in r["exercises"] for c in e["checks"]}
    assert statuses == {"pass", "fail", "missing", "not_checkable"}, statuses
    return rows
