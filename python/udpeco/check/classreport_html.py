"""The class report as one self-contained HTML page: a student x exercise table whose cells,
coloured by status, open (``<details>``) the clauses of that exercise with the reason,
expected vs got, and the quoted sentence of the práctica.

Nothing is loaded from elsewhere. Every text from a report is HTML-escaped and has its control
characters shown as ``\\xNN``; a Content-Security-Policy allows only this page's own script
(by its hash), so even markup that slipped through could not run. The script adds comfort
only (a summary, a filter, open/close all, open the cell named by the URL's ``#``); the table
and every detail work without it.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import html
import json
from collections import Counter
from typing import Any

from udpeco.check.classreport_text import (
    EXERCISES,
    STATUSES,
    TEXT,
    clean,
    exercises_of,
    student_status,
    words,
)

CSS = """
:root { --pass: #d8f3dc; --pass-b: #2d6a4f; --fail: #ffd6d6; --fail-b: #9d0208;
  --missing: #eeeeee; --missing-b: #6c757d; --not_checkable: #fff3bf; --not_checkable-b: #8a6d00;
  --not_run: #ffffff; --not_run-b: #adb5bd; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #212529; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
.meta, #summary { color: #495057; margin: .2em 0; }
.tools { margin: .6em 0; display: flex; gap: 1em; align-items: center; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ced4da; padding: 0; text-align: center; vertical-align: top; }
thead th { padding: .3em .5em; background: #f1f3f5; position: sticky; top: 0; z-index: 3; }
tbody th { padding: .3em .6em; text-align: left; font-weight: 600; white-space: nowrap; }
td { position: relative; min-width: 4.5em; }
td.score { padding: .3em .6em; font-variant-numeric: tabular-nums; }
td.st-pass, li.st-pass { background: var(--pass); }
td.st-fail, li.st-fail { background: var(--fail); }
td.st-missing, li.st-missing { background: var(--missing); }
td.st-not_checkable, li.st-not_checkable { background: var(--not_checkable); }
td.st-not_run { background: var(--not_run); color: var(--not_run-b); }
summary { cursor: pointer; padding: .3em .5em; list-style: none; white-space: nowrap; }
summary::-webkit-details-marker { display: none; }
.st-pass > details > summary { color: var(--pass-b); }
.st-fail > details > summary { color: var(--fail-b); font-weight: 600; }
.st-missing > details > summary { color: var(--missing-b); }
.st-not_checkable > details > summary { color: var(--not_checkable-b); }
.panel { position: absolute; left: 0; top: 100%; z-index: 2; width: 38em; max-height: 70vh;
  overflow: auto; text-align: left; background: #fff; border: 1px solid #868e96;
  box-shadow: 0 4px 14px rgba(0,0,0,.25); padding: .6em; }
/* Cells in the right half open their panel leftwards, so it stays on the page. */
td:nth-last-child(-n+8) .panel { left: auto; right: 0; }
.panel h2 { font-size: 1em; margin: 0 0 .4em; }
.panel .files { color: #495057; margin: 0 0 .4em; }
ul.checks { list-style: none; margin: 0; padding: 0; }
ul.checks li { margin: 0 0 .5em; padding: .4em .5em; border-radius: 4px; }
.check-head { font-weight: 600; }
.badge { font-size: .85em; font-weight: 600; text-transform: uppercase; margin-left: .4em; }
dl { margin: .3em 0 0; display: grid; grid-template-columns: max-content 1fr; gap: .2em .6em; }
dt { font-weight: 600; }
dd { margin: 0; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font-size: .92em;
  background: rgba(255,255,255,.7); padding: .1em .3em; }
blockquote { margin: .4em 0 0; padding-left: .6em; border-left: 3px solid #868e96;
  font-style: italic; }
.legend span { display: inline-block; padding: .1em .5em; margin-right: .4em;
  border: 1px solid #ced4da; }
tr.hidden { display: none; }
body.all-open .panel { position: static; width: 24em; box-shadow: none; max-height: none; }
"""

SCRIPT = """
(function () {
  "use strict";
  var cells = document.querySelectorAll("td[data-status]");
  var counts = {};
  cells.forEach(function (td) {
    var s = td.getAttribute("data-status");
    counts[s] = (counts[s] || 0) + 1;
  });
  var names = JSON.parse(document.getElementById("words").textContent);
  var parts = [];
  Object.keys(names).forEach(function (s) {
    if (counts[s]) { parts.push(counts[s] + " " + names[s]); }
  });
  var summary = document.getElementById("summary");
  summary.textContent = summary.getAttribute("data-label") + ": " + parts.join(", ");
  summary.hidden = false;
  var details = document.querySelectorAll("td details");
  details.forEach(function (d) {
    d.addEventListener("toggle", function () {
      if (!d.open || document.body.classList.contains("all-open")) { return; }
      details.forEach(function (o) { if (o !== d) { o.open = false; } });
    });
  });
  var expand = document.getElementById("expand");
  expand.hidden = false;
  expand.addEventListener("click", function () {
    var open = !document.body.classList.contains("all-open");
    document.body.classList.toggle("all-open", open);
    details.forEach(function (d) { d.open = open; });
    expand.textContent = expand.getAttribute(open ? "data-close" : "data-open");
  });
  var only = document.getElementById("only-problems");
  only.parentNode.hidden = false;
  only.addEventListener("change", function () {
    document.querySelectorAll("tbody tr").forEach(function (tr) {
      tr.classList.toggle("hidden", only.checked && tr.getAttribute("data-status") === "pass");
    });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { details.forEach(function (d) { d.open = false; }); }
  });
  var wanted = decodeURIComponent(location.hash.slice(1));
  var target = wanted ? document.getElementById(wanted) : null;
  if (target) {
    var d = target.querySelector("details");
    if (d) { d.open = true; }
  }
  document.body.setAttribute("data-ready", "1");
})();
"""

#: A mark before each status in a cell, so that colour is not the only cue.
ICON = {"pass": "✔", "fail": "✘", "missing": "∅", "not_checkable": "?", "not_run": "·"}


def esc(value: object, *, multiline: bool = False) -> str:
    """Text from a report, safe as HTML text or attribute value."""
    return html.escape(clean(value, multiline=multiline), quote=True)


def _check(c: dict[str, Any], t: dict[str, Any]) -> str:
    status = str(c.get("status", ""))
    status = status if status in STATUSES else "not_checkable"
    rows = []
    for key in ("reason", "expected", "got"):
        value = c.get(key)
        if value not in (None, ""):
            body = esc(value) if key == "reason" else f"<pre>{esc(value, multiline=True)}</pre>"
            rows.append(f"<dt>{t[key]}</dt><dd>{body}</dd>")
    quote = c.get("quote")
    quoted = (
        f'<blockquote title="{t["quote"]}">{esc(quote, multiline=True)}</blockquote>'
        if quote
        else ""
    )
    dl = f"<dl>{''.join(rows)}</dl>" if rows else ""
    return (
        f'<li class="st-{status}" data-check="{esc(c.get("id", ""))}">'
        f'<div class="check-head">{esc(c.get("id", ""))}: {esc(c.get("title", ""))}'
        f'<span class="badge">{t["status"][status]}</span></div>{dl}{quoted}</li>'
    )


def _cell(sid: int, ex: dict[str, Any] | None, exercise: str, t: dict[str, Any]) -> str:
    cid = f"c{sid}-{exercise}"
    if ex is None:
        return (
            f'<td id="{cid}" class="st-not_run" title="{t["status"]["not_run"]}">'
            f"{ICON['not_run']}</td>"
        )
    status = str(ex.get("status", ""))
    status = status if status in STATUSES else "not_checkable"
    checks = [c for c in ex.get("checks") or [] if isinstance(c, dict)]
    n = Counter(str(c.get("status")) for c in checks)
    label = f"{ICON[status]} {n['pass']}/{len(checks)}" if checks else ICON[status]
    files = ", ".join(clean(f) for f in ex.get("files") or [])
    items = "".join(_check(c, t) for c in checks) or f"<li>{t['no_checks']}</li>"
    return (
        f'<td id="{cid}" class="st-{status}" data-status="{status}" data-exercise="{exercise}">'
        f'<details><summary title="{t["status"][status]}">{label}</summary>'
        f'<div class="panel"><h2>{esc(exercise)}: {esc(ex.get("title", ""))} '
        f'<span class="badge">{t["status"][status]}</span></h2>'
        + (f'<p class="files">{t["files"]}: {html.escape(files)}</p>' if files else "")
        + f'<ul class="checks">{items}</ul></div></details></td>'
    )


def _row(sid: int, student: str, report: dict[str, Any], t: dict[str, Any]) -> str:
    by_id = {ex["id"]: ex for ex in exercises_of(report)}
    handed = [ex for ex in by_id.values() if ex.get("status") != "missing"]
    passed = sum(ex.get("status") == "pass" for ex in handed)
    cells = "".join(_cell(sid, by_id.get(e), e, t) for e in EXERCISES)
    info = " · ".join(
        f"{label}: {clean(report.get(key))}"
        for label, key in ((t["python"], "python"), (t["isolation"], "isolation"))
        if report.get(key)
    )
    return (
        f'<tr data-status="{student_status(report)}">'
        f'<th scope="row" title="{html.escape(info)}">{esc(student)}</th>{cells}'
        f'<td class="score">{passed}/{len(handed)}</td></tr>'
    )


def render(rows: list[tuple[str, dict[str, Any]]], lang: str = "es") -> str:
    """The whole page."""
    key = words(lang)
    t = TEXT[key]
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    csp = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'"
    titles: dict[str, str] = {}
    for _, report in rows:
        for ex in exercises_of(report):
            titles.setdefault(ex["id"], clean(ex.get("title", "")))
    head = "".join(
        f'<th scope="col" title="{html.escape(titles.get(e, ""))}">{e}</th>' for e in EXERCISES
    )
    body = "".join(_row(i, student, report, t) for i, (student, report) in enumerate(rows))
    legend = "".join(
        f'<span class="st-{s}" style="background: var(--{s})">{ICON[s]} {t["status"][s]}</span>'
        for s in (*STATUSES, "not_run")
    )
    names = json.dumps({s: t["status"][s] for s in STATUSES}).replace("<", "\\u003c")
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    return f"""<!DOCTYPE html>
<html lang="{key}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t["title"]}</title>
<style>{CSS}</style>
</head>
<body>
<h1>{t["heading"]}</h1>
<p class="meta">{len(rows)} {t["students"]} · {t["generated"]}: {now} · udpeco check</p>
<p id="summary" data-label="{t["summary"]}" hidden></p>
<div class="tools">
<label hidden><input type="checkbox" id="only-problems"> {t["only_problems"]}</label>
<button type="button" id="expand" hidden data-open="{t["expand"]}"
 data-close="{t["collapse"]}">{t["expand"]}</button>
</div>
<table id="class">
<thead><tr><th scope="col">{t["student"]}</th>{head}<th scope="col">{t["passed"]}</th></tr></thead>
<tbody>
{body}
</tbody>
</table>
<p class="legend">{legend}</p>
<script type="application/json" id="words">{names}</script>
<script>{SCRIPT}</script>
</body>
</html>
"""
