"""Class reports: one student's ``udpeco check --json`` report per row, rendered for teachers.

Every function takes ``rows``, a list of ``(student name, report dict)``, the report being what
``udpeco check --json`` writes for that student's folder. The formats (docs/check-formats.md):

- :func:`write_csv`: one row per student x exercise, for a spreadsheet (pivot it to get a
  student x exercise grid); :func:`write_csv_checks`: one row per clause, for the details.
- :func:`write_json`: the whole class in one document (every report, plus a summary each).
- :func:`write_junit`: JUnit XML, one ``testsuite`` per student, one ``testcase`` per clause,
  as CI viewers and autograding platforms read it.
- :func:`write_html`: one self-contained page, a student x exercise table whose cells open the
  reasons of each clause. Spanish by default, English with ``lang="en"``.
- :func:`format_table`: the same table as plain text, for a terminal.

Everything in a report may come from a student's program (its output is quoted as ``got``), so
every format escapes it: HTML-escaped and shown without control characters in the page,
neutralised as a formula in CSV, made XML 1.0-legal in JUnit, and control characters shown as
``\\xNN`` on a terminal.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import re
import socket
from collections import Counter
from collections.abc import Iterable
from typing import Any
from xml.etree import ElementTree as ET

from udpeco.check import classreport_html as htmlpage
from udpeco.check.classreport_text import (
    EXERCISES,
    STATUSES,
    TEXT,
    clean,
    exercises_of,
    student_status,
    words,
)

Row = tuple[str, dict[str, Any]]

__all__ = [
    "EXERCISES",
    "format_table",
    "write_csv",
    "write_csv_checks",
    "write_html",
    "write_json",
    "write_junit",
]

#: First characters a spreadsheet reads as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = clean(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _counts(checks: Iterable[dict[str, Any]]) -> Counter[str]:
    return Counter(str(c.get("status", "")) for c in checks)


EXERCISE_COLUMNS = (
    "student", "exercise", "title", "status", "passed", "failed", "missing", "not_checkable",
    "checks", "failed_checks", "reasons", "duration_s",
)  # fmt: skip


def write_csv(path: str | os.PathLike[str], rows: list[Row]) -> None:
    """One row per student x exercise, in the order of the práctica (UTF-8 with a BOM, so that
    spreadsheets read the accents)."""
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        out = csv.writer(f)
        out.writerow(EXERCISE_COLUMNS)
        for student, report in rows:
            for ex in exercises_of(report):
                checks = ex.get("checks") or []
                n = _counts(checks)
                bad = [c for c in checks if c.get("status") == "fail"]
                out.writerow(
                    [
                        _cell(student),
                        ex["id"],
                        _cell(ex.get("title", "")),
                        ex.get("status", "missing"),
                        n["pass"],
                        n["fail"],
                        n["missing"],
                        n["not_checkable"],
                        len(checks),
                        _cell(" ".join(str(c.get("id", "")) for c in bad)),
                        _cell(" | ".join(str(c.get("reason", "")) for c in bad)),
                        f"{sum(float(c.get('duration_s') or 0) for c in checks):.3f}",
                    ]
                )


CHECK_COLUMNS = (
    "student", "exercise", "check", "title", "status", "reason", "expected", "got", "quote",
    "duration_s",
)  # fmt: skip


def write_csv_checks(path: str | os.PathLike[str], rows: list[Row]) -> None:
    """One row per student x clause: every reason, expected and got, and the quoted sentence."""
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        out = csv.writer(f)
        out.writerow(CHECK_COLUMNS)
        for student, report in rows:
            for ex in exercises_of(report):
                for c in ex.get("checks") or []:
                    out.writerow(
                        [_cell(student), ex["id"]]
                        + [_cell(c.get(k, "")) for k in ("id", "title", "status", "reason")]
                        + [_cell(c.get(k, "")) for k in ("expected", "got", "quote")]
                        + [f"{float(c.get('duration_s') or 0):.3f}"]
                    )


def write_json(path: str | os.PathLike[str], rows: list[Row]) -> None:
    """The class as one JSON document: ``{"exercises": [ids], "students": [{"name", "status",
    "exercises": {id: status}, "report"}]}``, the report untouched."""
    doc = {
        "format": "udpeco-class-report",
        "version": 1,
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "exercises": list(EXERCISES),
        "students": [
            {
                "name": student,
                "status": student_status(report),
                "exercises": {ex["id"]: ex.get("status") for ex in exercises_of(report)},
                "report": report,
            }
            for student, report in rows
        ],
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")


#: Characters XML 1.0 does not allow (control characters, lone surrogates, U+FFFE/U+FFFF).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(value: object) -> str:
    """Text that XML 1.0 can carry: illegal characters shown as ``\\xNN``/``\\uNNNN``."""
    text = "" if value is None else str(value)
    return _XML_ILLEGAL.sub(
        lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text
    )


def _classname(student: str, exercise: str) -> str:
    """``student.exercise``: viewers group test cases by it (dots in a name would split it)."""
    return f"{_xml(student).replace('.', '_')}.{exercise}"


def write_junit(path: str | os.PathLike[str], rows: list[Row]) -> None:
    """JUnit XML in the Apache Ant schema's shape (what Jenkins, GitLab and most viewers read):
    ``<testsuites>``, one ``<testsuite>`` per student, one ``<testcase>`` per clause
    (``classname`` = student.exercise, ``name`` = clause id and title). A failed clause has a
    ``<failure>`` whose message is the reason and whose text is expected, got and the quoted
    sentence; a missing or not checkable one is ``<skipped>``. An exercise without any clause
    (its file is missing) is one test case of its own."""
    root = ET.Element("testsuites")
    stamp = datetime.datetime.now().replace(microsecond=0).isoformat()
    host = socket.gethostname() or "localhost"
    for sid, (student, report) in enumerate(rows):
        suite = ET.SubElement(
            root,
            "testsuite",
            name=_xml(student) or "-",
            package="udpeco.check",
            id=str(sid),
            timestamp=stamp,
            hostname=host,
        )
        props = ET.SubElement(suite, "properties")
        for key in ("path", "python", "isolation", "lang"):
            if report.get(key) is not None:
                ET.SubElement(props, "property", name=key, value=_xml(report[key]))
        n: Counter[str] = Counter()
        elapsed = 0.0
        for ex in exercises_of(report):
            cases = ex.get("checks") or [
                {"id": ex["id"], "title": ex.get("title", ""), "status": ex.get("status", "")}
            ]
            for c in cases:
                seconds = float(c.get("duration_s") or 0)
                elapsed += seconds
                case = ET.SubElement(
                    suite,
                    "testcase",
                    name=_xml(f"{c.get('id', '')}: {c.get('title', '')}"),
                    classname=_classname(student, ex["id"]),
                    time=f"{seconds:.3f}",
                )
                n["tests"] += 1
                status = c.get("status")
                if status == "fail":
                    n["failures"] += 1
                    fail = ET.SubElement(
                        case, "failure", message=_xml(c.get("reason", "")), type="fail"
                    )
                    fail.text = "\n".join(
                        f"{label}: {_xml(c.get(key, ''))}"
                        for label, key in (
                            ("expected", "expected"),
                            ("got", "got"),
                            ("práctica", "quote"),
                        )  # fmt: skip
                    )
                elif status != "pass":
                    n["skipped"] += 1
                    reason = _xml(c.get("reason", "")) or str(status)
                    ET.SubElement(case, "skipped", message=f"{status}: {reason}")
        ET.SubElement(suite, "system-out").text = ""
        ET.SubElement(suite, "system-err").text = ""
        for key in ("tests", "failures", "skipped"):
            suite.set(key, str(n[key]))
        suite.set("errors", "0")
        suite.set("time", f"{elapsed:.3f}")
    tree = ET.ElementTree(root)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def write_html(path: str | os.PathLike[str], rows: list[Row], lang: str = "es") -> None:
    """One self-contained HTML page (inline CSS and JS, nothing loaded from elsewhere)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(htmlpage.render(rows, lang))


#: Short marks of each status on a terminal.
MARK = {"pass": "ok", "fail": "FAIL", "missing": "-", "not_checkable": "?"}


def format_table(rows: list[Row], lang: str = "es") -> str:
    """The class as a plain-text table: a line per student, a column per exercise, then the
    number of exercises passed of those handed in, and a legend."""
    t = TEXT[words(lang)]
    names = [clean(student) for student, _ in rows]
    width = max([len(t["student"])] + [len(n) for n in names])
    cols = [max(len(e), 4) for e in EXERCISES]
    head = [t["student"].ljust(width)] + [e.ljust(w) for e, w in zip(EXERCISES, cols)]
    lines = ["  ".join(head + [t["passed"]])]
    for name, (_, report) in zip(names, rows):
        by_id = {ex["id"]: ex.get("status", "missing") for ex in exercises_of(report)}
        marks = [MARK.get(by_id.get(e, "missing"), "?").ljust(w) for e, w in zip(EXERCISES, cols)]
        handed = [s for s in by_id.values() if s != "missing"]
        score = f"{sum(s == 'pass' for s in handed)}/{len(handed)}"
        lines.append("  ".join([name.ljust(width), *marks, score]))
    legend = ", ".join(f"{MARK[s]} = {t['status'][s]}" for s in STATUSES)
    lines.append(f"({legend})")
    return "\n".join(line.rstrip() for line in lines) + "\n"
