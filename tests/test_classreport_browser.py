"""The class report's HTML page in a real browser: headless Chromium loads it (with the URL
naming one cell, which the page's script opens), and the test reads the DOM after the script
ran and a screenshot: the script ran (summary, ready flag), every cell shows its status, the
named cell is open, and the hostile student's `<script>` and `onerror` never ran."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from classreport_fixtures import make_class
from test_classreport import Cells
from udpeco.check import classreport
from udpeco.check.classreport_text import TEXT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs headless Chromium (Debian package `chromium`)"
)


def test_page_renders_in_chromium(tmp_path: Path) -> None:
    rows = make_class()
    page = tmp_path / "class.html"
    classreport.write_html(page, rows)
    shot = tmp_path / "class.png"
    dom = subprocess.run(
        [
            str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-extensions", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path}/p",
            "--window-size=1500,900", f"--screenshot={shot}", "--dump-dom",
            f"{page.as_uri()}#c2-ex5",
        ],
        capture_output=True,
        text=True,
        timeout=90,
    ).stdout  # fmt: skip
    # The page's script ran: it flags the body and writes the summary of every cell.
    assert re.search(r'<body[^>]*data-ready="1"', dom), dom[:2000]
    counts = Counter(ex["status"] for _, r in rows for ex in r["exercises"])
    names = TEXT["es"]["status"]
    want = ", ".join(f"{counts[s]} {names[s]}" for s in names if counts.get(s))
    assert f">Ejercicios: {want}</p>" in dom
    # The hostile student's markup stayed text: the title is ours, the body unflagged.
    assert "<title>udpeco check: informe de la clase</title>" in dom
    assert not re.search(r"<body[^>]*data-pwned", dom)
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom
    cells = Cells()
    cells.feed(dom)
    for sid, (_, report) in enumerate(rows):
        for ex in report["exercises"]:
            assert cells.cells[f"c{sid}-{ex['id']}"] == ex["status"]
    # The cell named in the URL is open, its failing clause's reason and output inside.
    opened = re.findall(r'<td id="(c[^"]+)"[^>]*><details open="">', dom)
    assert opened == ["c2-ex5"]
    assert rows[2][1]["exercises"][3]["status"] == "fail"
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1500, 900)
