"""The clause library: every exercise of the práctica, in the práctica's order."""

from __future__ import annotations

# Importing the clause modules registers their exercises (model.exercise / model.clause).
from udpeco.check import (  # noqa: F401
    clauses_final,
    clauses_net,
    clauses_v1,
    clauses_v2,
    clauses_v3,
    clauses_v3b,
)
from udpeco.check.model import EXERCISES as _REGISTERED
from udpeco.check.model import Clause, Exercise

#: Exercise ids, in the práctica's order.
ORDER = (
    "v1",
    "ex3",
    "ex4",
    "ex5",
    "v2",
    "ex7",
    "v3",
    "ex9",
    "ex10",
    "v3b",
    "ex11",
    "select_stdin",
    "final1",
    "final2",
)
EXERCISES: dict[str, Exercise] = {k: _REGISTERED[k] for k in ORDER}
#: Every clause by id.
CLAUSES: dict[str, Clause] = {c.id: c for ex in EXERCISES.values() for c in ex.clauses}
#: The práctica's file names (what ``udpeco check`` looks for).
FILES: tuple[str, ...] = tuple(dict.fromkeys(f for ex in EXERCISES.values() for f in ex.files))
