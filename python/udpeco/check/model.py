"""The clause library's building blocks: clauses, exercises, outcomes, the run context.

A :class:`Clause` is one thing the práctica asks, defined once: a stable id
(``v3.reply_from_receiving_socket``), a title in Spanish and English, the práctica's sentence
it checks (quoted), and the function that checks it on a student's programs. An
:class:`Exercise` groups the clauses of one exercise with the files it needs. Clause functions
get a :class:`Context` (the student's folder, the interpreter, the language, shared runs) and
return an :class:`Outcome`.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from udpeco.check.proc import Program

PASS, FAIL, MISSING, NOT_CHECKABLE = "pass", "fail", "missing", "not_checkable"
STATUSES = (PASS, FAIL, MISSING, NOT_CHECKABLE)


@dataclass
class Outcome:
    status: str
    reason: str = ""
    expected: str = ""
    got: str = ""


def ok(got: str = "") -> Outcome:
    return Outcome(PASS, "", "", got)


def bad(reason: str, expected: str = "", got: str = "") -> Outcome:
    return Outcome(FAIL, reason, expected, got)


def cannot(reason: str) -> Outcome:
    return Outcome(NOT_CHECKABLE, reason)


@dataclass
class Clause:
    id: str
    es: str
    en: str
    quote: str
    run: Callable[[Context], Outcome]
    #: The files it runs (a server clause runs without the client's file).
    needs: tuple[str, ...] = ()

    def title(self, lang: str) -> str:
        return self.es if lang == "es" else self.en


@dataclass
class Exercise:
    id: str
    es: str
    en: str
    files: tuple[str, ...]
    clauses: list[Clause] = field(default_factory=list)
    #: Runs on the host (makes its own namespaces) rather than in a per-exercise netns.
    host: bool = False
    #: Rough seconds it takes (the slowest start first).
    seconds: float = 5.0
    #: Every clause needs every file (else a (server, client) pair: see :func:`clause`).
    together: bool = False

    def title(self, lang: str) -> str:
        return self.es if lang == "es" else self.en


#: Every exercise, in the práctica's order (filled by the clause modules).
EXERCISES: dict[str, Exercise] = {}


def exercise(ex_id: str, es: str, en: str, files: tuple[str, ...], **kw: Any) -> Exercise:
    ex = Exercise(ex_id, es, en, files, **kw)
    EXERCISES[ex_id] = ex
    return ex


def clause(
    ex: Exercise, name: str, es: str, en: str, quote: str, client: bool | None = None
) -> Callable[..., Any]:
    """Decorator: registers the function as clause ``EX.NAME`` of exercise ``ex``.

    In an exercise of a (server, client) pair, a clause runs only the client's file when
    ``client`` (default: its name starts with ``client``), else only the server's.
    """
    if ex.together or len(ex.files) == 1:
        needs = ex.files
    elif client or (client is None and name.startswith("client")):
        needs = ex.files[1:]
    else:
        needs = ex.files[:1]

    def register(fn: Callable[[Context], Outcome]) -> Callable[[Context], Outcome]:
        ex.clauses.append(Clause(f"{ex.id}.{name}", es, en, quote, fn, needs))
        return fn

    return register


class Context:
    """What a clause function works with, for one exercise of one student."""

    def __init__(
        self,
        folder: str,
        python: str,
        lang: str,
        final2_file: str | None = None,
        prefix: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        tmp_root: str | None = None,
    ) -> None:
        self.lang = lang
        self.env = env or {}
        self.python = python
        self.final2_file = final2_file
        self.prefix = prefix
        self.tmp = tempfile.mkdtemp(prefix="udpeco-check-", dir=tmp_root)
        self.home = os.path.join(self.tmp, "home")
        self.work = os.path.join(self.tmp, "work")
        os.mkdir(self.home)
        os.mkdir(self.work)
        # The student's files are copied: programs run (and create files) in the copy.
        for name in sorted(os.listdir(folder)):
            src = os.path.join(folder, name)
            if os.path.isfile(src) and not name.startswith("."):
                shutil.copy2(src, os.path.join(self.work, name))
        self.initial = set(os.listdir(self.work))
        self.programs: list[Program] = []
        self.peers: list[socket.socket] = []
        self._once: dict[str, Any] = {}

    def t(self, es: str, en: str) -> str:
        """The text in the report's language."""
        return es if self.lang == "es" else en

    def start(
        self, name: str, *args: object, prefix: tuple[str, ...] | None = None, **kw: Any
    ) -> Program:
        prog = Program(
            self.python,
            os.path.join(self.work, name),
            args,
            cwd=self.work,
            home=self.home,
            prefix=self.prefix if prefix is None else prefix,
            env=self.env,
            **kw,
        )
        self.programs.append(prog)
        return prog

    def peer(self, bind: tuple[str, int] = ("127.0.0.1", 0)) -> socket.socket:
        """A UDP socket of the checker's own (closed at the end)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.peers.append(s)
        s.bind(bind)
        return s

    def once(self, key: str, fn: Callable[[], Any]) -> Any:
        """``fn()``'s result, computed once per exercise (runs shared by several clauses)."""
        if key not in self._once:
            self._once[key] = fn()
        return self._once[key]

    def close(self) -> None:
        for prog in self.programs:
            prog.stop(0.5)
        for s in self.peers:
            s.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def run_clause(c: Clause, ctx: Context) -> dict[str, Any]:
    """One clause's JSON record (a checker bug is ``not_checkable``, never a false fail)."""
    start = time.monotonic()
    try:
        out = c.run(ctx)
    except Exception as e:  # the checker's own failure is not the student's
        last = traceback.format_exception_only(type(e), e)[-1].strip()
        out = cannot(ctx.t("error del comprobador: ", "checker error: ") + last)
    return {
        "id": c.id,
        "title": c.title(ctx.lang),
        "status": out.status,
        "reason": out.reason,
        "expected": out.expected,
        "got": out.got,
        "quote": c.quote,
        "duration_s": round(time.monotonic() - start, 3),
    }


def exercise_status(checks: list[dict[str, Any]]) -> str:
    states = {c["status"] for c in checks}
    if FAIL in states:
        return FAIL
    if MISSING in states:
        return MISSING
    if states == {NOT_CHECKABLE}:
        return NOT_CHECKABLE
    return PASS
