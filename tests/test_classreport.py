"""The class-report renderers on generated class reports (tests/classreport_fixtures.py):
CSV, JSON, JUnit XML (parsed, and checked against the Ant JUnit schema's shape) and the HTML
page (parsed here; rendered by headless Chromium in test_classreport_browser.py), each with
hostile student output and every status."""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from classreport_fixtures import HOSTILE, make_class
from udpeco.check import classreport
from udpeco.check.classreport_text import EXERCISES, clean

ROWS = make_class()


def clauses(report: dict) -> list[tuple[str, dict]]:
    return [(ex["id"], c) for ex in report["exercises"] for c in ex["checks"]]


def test_csv_one_row_per_student_and_exercise(tmp_path: Path) -> None:
    path = tmp_path / "class.csv"
    classreport.write_csv(path, ROWS)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf"), "a BOM, so spreadsheets read UTF-8"
    with open(path, newline="", encoding="utf-8-sig") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(ROWS) * len(EXERCISES)
    for i, (_, report) in enumerate(ROWS):
        mine = table[i * len(EXERCISES) : (i + 1) * len(EXERCISES)]
        assert [r["exercise"] for r in mine] == list(EXERCISES)
        for r, ex in zip(mine, report["exercises"]):
            assert r["status"] == ex["status"]
            statuses = [c["status"] for c in ex["checks"]]
            assert int(r["passed"]) == statuses.count("pass")
            assert int(r["failed"]) == statuses.count("fail")
            assert int(r["checks"]) == len(statuses)
            failing = [c["id"] for c in ex["checks"] if c["status"] == "fail"]
            assert r["failed_checks"] == " ".join(failing)
    # Formula injection: a cell that would start with = + - @ is prefixed with a quote.
    assert any(r["student"] == "'=cmd|' /C calc'!A0" for r in table)
    for r in table:
        for value in r.values():
            assert not value.startswith(("=", "+", "-", "@")), value
            assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", value), value


def test_csv_of_clauses_keeps_every_detail(tmp_path: Path) -> None:
    path = tmp_path / "checks.csv"
    classreport.write_csv_checks(path, ROWS)
    with open(path, newline="", encoding="utf-8-sig") as f:
        table = list(csv.DictReader(f))
    expected = [(s, e, c) for s, r in ROWS for e, c in clauses(r)]
    assert len(table) == len(expected)
    for row, (_, exercise, c) in zip(table, expected):
        assert (row["exercise"], row["check"], row["status"]) == (exercise, c["id"], c["status"])
        got = clean(c["got"])
        assert row["got"] == ("'" + got if got.startswith(("=", "+", "-", "@")) else got)


def test_json_holds_every_report_untouched(tmp_path: Path) -> None:
    path = tmp_path / "class.json"
    classreport.write_json(path, ROWS)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["format"] == "udpeco-class-report"
    assert doc["exercises"] == list(EXERCISES)
    assert [s["name"] for s in doc["students"]] == [name for name, _ in ROWS]
    assert [s["report"] for s in doc["students"]] == [r for _, r in ROWS]
    assert [s["status"] for s in doc["students"]][1] == "pass"
    assert doc["students"][3]["status"] == "missing"
    assert doc["students"][0]["exercises"] == {
        ex["id"]: ex["status"] for ex in ROWS[0][1]["exercises"]
    }


#: The Apache Ant JUnit schema (the one Jenkins, GitLab and most viewers accept), as shape:
#: element -> (required attributes, optional attributes).
ANT_SHAPE = {
    "testsuite": (
        {"name", "package", "id", "timestamp", "hostname", "tests", "failures", "errors", "time"},
        {"skipped"},
    ),
    "properties": (set(), set()),
    "property": ({"name", "value"}, set()),
    "testcase": ({"name", "classname", "time"}, set()),
    "failure": ({"type"}, {"message"}),
    "skipped": (set(), {"message"}),
    "system-out": (set(), set()),
    "system-err": (set(), set()),
}


def check_ant_shape(root: ET.Element) -> None:
    assert root.tag == "testsuites" and not root.attrib
    for suite in root:
        names = [child.tag for child in suite]
        # properties, testcase*, system-out, system-err: in that order.
        assert names[0] == "properties" and names[-2:] == ["system-out", "system-err"], names
        assert set(names[1:-2]) <= {"testcase"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", suite.get("timestamp", ""))
        for el in suite.iter():
            if el is suite or el.tag in ANT_SHAPE:
                required, optional = ANT_SHAPE[el.tag]
                assert required <= el.attrib.keys(), (el.tag, el.attrib)
                assert el.attrib.keys() <= required | optional, (el.tag, el.attrib)
            else:
                raise AssertionError(f"unexpected element {el.tag}")
        for case in suite.iter("testcase"):
            assert len(case) <= 1 and {c.tag for c in case} <= {"failure", "skipped"}
            float(case.get("time", "x"))


def test_junit_one_case_per_clause(tmp_path: Path) -> None:
    path = tmp_path / "class.xml"
    classreport.write_junit(path, ROWS)
    root = ET.parse(path).getroot()
    check_ant_shape(root)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [clean(n) for n, _ in ROWS]
    for suite, (student, report) in zip(suites, ROWS):
        cases = suite.findall("testcase")
        expected = [(ex["id"], c) for ex in report["exercises"] for c in ex["checks"] or [ex]]
        assert len(cases) == len(expected) == int(suite.get("tests", "-1"))
        fails = skips = 0
        for case, (exercise, c) in zip(cases, expected):
            assert case.get("classname") == f"{clean(student).replace('.', '_')}.{exercise}"
            assert case.get("name") == clean(f"{c['id']}: {c.get('title', '')}")
            failure, skipped = case.find("failure"), case.find("skipped")
            if c["status"] == "fail":
                fails += 1
                assert failure is not None and failure.get("message") == clean(c["reason"])
                assert f"expected: {clean(c['expected'], multiline=True)}" in (failure.text or "")
                assert f"práctica: {c['quote']}" in (failure.text or "")
            elif c["status"] == "pass":
                assert failure is None and skipped is None
            else:
                skips += 1
                assert skipped is not None and skipped.get("message", "").startswith(c["status"])
        assert (int(suite.get("failures", "-1")), int(suite.get("skipped", "-1"))) == (fails, skips)
    # The hostile student's `]]></failure><testcase name="forged"/>` stayed text.
    assert not [c for c in root.iter("testcase") if c.get("name") == "forged"]


class Cells(HTMLParser):
    """Collects (td id, data-status) and the text of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[str, str] = {}
        self.text: list[str] = []
        self.scripts = 0
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "td" and a.get("id"):
            self.cells[a["id"] or ""] = a.get("data-status") or "not_run"
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            if a.get(key):
                self.external.append(a[key] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(path: Path) -> Cells:
    p = Cells()
    p.feed(path.read_text(encoding="utf-8"))
    return p


@pytest.mark.parametrize("lang", ["es", "en"])
def test_html_is_self_contained_and_escapes_everything(tmp_path: Path, lang: str) -> None:
    path = tmp_path / "class.html"
    classreport.write_html(path, ROWS, lang)
    page = parsed(path)
    assert page.scripts == 2, "only the page's own script and its JSON words"
    assert page.external == []
    for sid, (_, report) in enumerate(ROWS):
        for ex in report["exercises"]:
            assert page.cells[f"c{sid}-{ex['id']}"] == ex["status"]
    text = "".join(page.text)
    # The hostile strings are in the page as text (escaped), never as markup.
    source = path.read_text(encoding="utf-8")
    assert "<script>document.title" not in source
    assert "<img src=x" not in source
    assert "&lt;script&gt;document.title=&#x27;PWNED&#x27;&lt;/script&gt;" in source
    assert "<script>document.title='PWNED'</script>" in text
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", source)
    assert "\\x1b[2J" in text
    words = ("Informe de la clase", "Alumno", "falla") if lang == "es" else (
        "Class report", "Student", "fail")  # fmt: skip
    for w in words:
        assert w in text
    assert f'<html lang="{lang}">' in source


def test_html_defaults_to_spanish(tmp_path: Path) -> None:
    path = tmp_path / "class.html"
    classreport.write_html(path, ROWS)
    assert '<html lang="es">' in path.read_text(encoding="utf-8")


def test_terminal_table() -> None:
    text = classreport.format_table(ROWS, "en")
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["Student", "v1", "ex3"]
    assert len(lines) == len(ROWS) + 2
    assert lines[2].startswith("Bea Núñez")
    assert lines[2].rstrip().endswith("14/14")
    assert lines[4].split()[1:15] == ["-"] * 14
    assert "\x1b" not in text and "\r" not in text
    assert lines[-1] == "(ok = pass, FAIL = fail, - = missing, ? = not checkable)"
    assert "Alumno" in classreport.format_table(ROWS)


def test_fixture_covers_hostile_strings_everywhere() -> None:
    hostile_report = ROWS[2][1]
    fails = [c for _, c in clauses(hostile_report) if c["status"] == "fail"]
    assert fails and all(any(h in c["got"] for h in HOSTILE) for c in fails)
