"""Shared by the class-report renderers: exercise order, status words in Spanish and English,
and :func:`clean`, which makes text a student's program produced safe to show."""

from __future__ import annotations

import re
from typing import Any

#: The práctica's exercises, in its order.
EXERCISES = (
    "v1", "ex3", "ex4", "ex5", "v2", "ex7", "v3", "ex9", "ex10", "v3b", "ex11", "select_stdin",
    "final1", "final2",
)  # fmt: skip
#: Clause and exercise statuses, best first.
STATUSES = ("pass", "fail", "missing", "not_checkable")

TEXT: dict[str, dict[str, Any]] = {
    "es": {
        "title": "udpeco check: informe de la clase",
        "heading": "Informe de la clase",
        "student": "Alumno",
        "passed": "Correctos",
        "status": {
            "pass": "correcto",
            "fail": "falla",
            "missing": "falta",
            "not_checkable": "no comprobable",
            "not_run": "no ejecutado",
        },
        "reason": "Motivo",
        "expected": "Esperado",
        "got": "Obtenido",
        "quote": "La práctica dice",
        "files": "Ficheros",
        "only_problems": "Solo alumnos con fallos",
        "expand": "Abrir todas las celdas",
        "collapse": "Cerrar todas las celdas",
        "students": "alumnos",
        "generated": "Generado",
        "summary": "Ejercicios",
        "no_checks": "Sin comprobaciones",
        "python": "Python",
        "isolation": "Aislamiento",
    },
    "en": {
        "title": "udpeco check: class report",
        "heading": "Class report",
        "student": "Student",
        "passed": "Passed",
        "status": {
            "pass": "pass",
            "fail": "fail",
            "missing": "missing",
            "not_checkable": "not checkable",
            "not_run": "not run",
        },
        "reason": "Reason",
        "expected": "Expected",
        "got": "Got",
        "quote": "The práctica says",
        "files": "Files",
        "only_problems": "Only students with failures",
        "expand": "Open every cell",
        "collapse": "Close every cell",
        "students": "students",
        "generated": "Generated",
        "summary": "Exercises",
        "no_checks": "No checks",
        "python": "Python",
        "isolation": "Isolation",
    },
}


def words(lang: str) -> str:
    """The language key of :data:`TEXT`: ``"en"`` for English, Spanish otherwise."""
    return "en" if lang == "en" else "es"


#: What a terminal or a page must not get raw: C0/C1 controls, DEL, bidirectional overrides
#: and isolates, line/paragraph separators, BOM, lone surrogates.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069"
    "\ufeff\ud800-\udfff]"
)
_UNSAFE_ONE_LINE = re.compile("[\t\n]|" + _UNSAFE.pattern)


#: Controls written as two characters, as udpeco's escaping of received bytes does.
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match[str]) -> str:
    code = ord(m[0])
    if m[0] in _SHORT:
        return _SHORT[m[0]]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: object, *, multiline: bool = False) -> str:
    """``value`` as text without control characters: ``\\n``, ``\\r``, ``\\t`` as two
    characters, the others as ``\\xNN``/``\\uNNNN`` (a backslash stays as it is: text that
    was already escaped is left alone). With ``multiline`` newlines and tabs stay."""
    text = "" if value is None else str(value)
    return (_UNSAFE if multiline else _UNSAFE_ONE_LINE).sub(_escape, text)


def exercises_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's exercises in the práctica's order (unknown ids last, as given)."""
    exercises = [ex for ex in report.get("exercises") or [] if isinstance(ex, dict) and "id" in ex]
    order = {e: i for i, e in enumerate(EXERCISES)}
    return sorted(exercises, key=lambda ex: order.get(ex["id"], len(order)))


def student_status(report: dict[str, Any]) -> str:
    """One word for a student: ``fail`` if an exercise fails, else ``not_checkable`` if one
    could not be checked, else ``pass`` if one passed, else ``missing`` (nothing handed in)."""
    seen = {ex.get("status") for ex in exercises_of(report)}
    for status in ("fail", "not_checkable", "pass"):
        if status in seen:
            return status
    return "missing"
