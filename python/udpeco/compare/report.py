"""What ``udpeco compare`` prints: a progress line per run, the side-by-side table per
scenario, the transcripts that differ, and the same results as JSON (``--json``)."""

from __future__ import annotations

from udpeco.compare.harness import Row


def _figure(row: Row) -> str:
    if row.figure is None:
        return "-"
    if row.unit == "s":
        return f"{row.figure * 1000:.2f} ms" if row.figure < 0.01 else f"{row.figure:.3f} s"
    return f"{row.figure:,.0f} {row.unit}"


def _ratio(row: Row, base: Row) -> str:
    if row.figure is None or not base.figure or row is base or not row.figure:
        return "1.00x" if row is base and row.figure is not None else "-"
    if row.unit == "s":  # shorter is better: how many times faster
        return f"{base.figure / row.figure:.2f}x"
    return f"{row.figure / base.figure:.2f}x"


def table(name: str, rows: list[Row]) -> str:
    """The side-by-side table for one scenario (the first row is the stdlib, the reference)."""
    base = rows[0]
    lines = [(name, "transcript", "figure", "vs stdlib", "notes")]
    for row in rows:
        same = verdict(row, base)
        lines.append((row.runner, same, _figure(row), _ratio(row, base), row.note))
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    out = []
    for i, line in enumerate(lines):
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths)) + "  " + line[4])
        if i == 0:
            out.append("  ".join("-" * w for w in widths) + "  -----")
    return "\n".join(line.rstrip() for line in out)


def diffs(rows: list[Row]) -> str:
    """The transcripts that differ from the stdlib's, shown in full (empty if all match)."""
    base = rows[0]
    out = []
    for row in rows[1:]:
        if row.transcript is not None and row.transcript != base.transcript:
            out.append(f"--- {base.runner}\n{base.transcript}--- {row.runner}\n{row.transcript}")
        elif row.transcript is None and row.client is not None and row.client != base.client:
            out.append(f"--- {base.runner}\n{base.client}--- {row.runner}\n{row.client}")
    return "\n".join(out)


def verdict(row: Row, base: Row) -> str:
    """``reference``, ``same``, ``DIFFERS``, ``same (client)``... as the table's column."""
    if row.transcript is None and row.client is not None:
        return "same (client)" if row.client == base.client else "DIFFERS (client)"
    if row.transcript is None:
        return "-"
    if row is base:
        return "reference"
    return "same" if row.transcript == base.transcript else "DIFFERS"


def progress_line(scenario: str, row: Row, run: int, runs: int) -> str:
    """One line as soon as a run ends: ``v1: udpeco serve 41,234 echoes/s (run 2 of 3)``."""
    which = f" (run {run} of {runs})" if runs > 1 else ""
    failed = f" - {row.note}" if row.figure is None and row.note else ""
    return f"{scenario}: {row.runner}: {_figure(row)}{failed}{which}"


def as_json(name: str, rows: list[Row]) -> dict[str, object]:
    """One scenario's table as a JSON-ready object (``udpeco compare --json``)."""
    base = rows[0]
    return {
        "scenario": name,
        "rows": [
            {
                "runner": row.runner,
                "transcript": verdict(row, base),
                "figure": row.figure,
                "unit": row.unit,
                "vs_stdlib": None if _ratio(row, base) == "-" else float(_ratio(row, base)[:-1]),
                "note": row.note.lstrip("; "),
            }
            for row in rows
        ],
        "differs": diffs(rows) or None,
    }
