"""``udpeco compare``: each práctica program on the stdlib, on udpeco's drop-in and on the Rust
engine that does the same job, side by side.

:mod:`.harness` runs the processes (lab programs with ``python -m udpeco.practica3.NAME``, the
engines through the real ``udpeco`` command line with ``--json``); :mod:`.scenarios` and
:mod:`.timers` define what each scenario runs and measures; :mod:`.report` turns the rows into
the table or JSON that ``udpeco compare`` prints. The lab programs themselves stay in
:mod:`udpeco.practica3`.
"""

from __future__ import annotations

from udpeco.compare.harness import Options, Row, Scenario
from udpeco.compare.scenarios import THROUGHPUT
from udpeco.compare.timers import TIMERS

#: The order ``udpeco compare all`` runs them in: the práctica's order.
ORDER = ("v1", "v25", "v3", "v3b", "v3b_11", "v3_10", "client", "final1", "final2")

#: Every scenario by name, in :data:`ORDER`.
SCENARIOS: dict[str, Scenario] = {name: {**THROUGHPUT, **TIMERS}[name] for name in ORDER}

__all__ = ["ORDER", "SCENARIOS", "Options", "Row", "Scenario"]
