"""``udpeco check`` as a user runs it: terminal lines, exit codes, JSON, ``--class``, mistakes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
STYLES = os.path.join(HERE, "styles")
WRONG = os.path.join(HERE, "wrong")
TOP = {"student", "path", "python", "isolation", "lang", "duration_s", "status", "exercises"}
EXERCISE = {"id", "title", "files", "status", "checks"}
CHECK = {"id", "title", "status", "reason", "expected", "got", "quote", "duration_s"}
#: A select_stdin.py that waits 1 s instead of 3.
IMPATIENT = (
    "import select, sys\n"
    "r, _, _ = select.select([sys.stdin], [], [], 1)\n"
    "print(r)\n"
    "if r:\n"
    "    print(r[0].read())\n"
)


def udpeco(*args: str, cwd: str | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "udpeco", "check", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


def done(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, str, str]]:
    """Every run of this module at once: ``name -> (rc, stdout, stderr, json file)``."""
    tmp = tmp_path_factory.mktemp("cli")
    good = tmp / "good"
    good.mkdir()
    shutil.copy(os.path.join(STYLES, "select_stdin.py"), good)
    shutil.copy(os.path.join(STYLES, "servidor_eco_v1.py"), good)  # no cliente_eco_v1.py
    klass = tmp / "class"
    for student, text in (("ana", None), ("bea", IMPATIENT)):
        (klass / student).mkdir(parents=True)
        if text is None:
            shutil.copy(os.path.join(STYLES, "select_stdin.py"), klass / student)
        else:
            (klass / student / "select_stdin.py").write_text(text)
    started = {
        "good": (
            udpeco(
                str(good),
                "--exercise",
                "select_stdin",
                "--exercise",
                "v1",
                "--lang",
                "en",
                "--json",
                str(tmp / "good.json"),
            ),
            str(tmp / "good.json"),
        ),
        "bad": (
            udpeco(
                "--exercise",
                "v3b",
                "--json",
                str(tmp / "bad.json"),
                cwd=os.path.join(WRONG, "v3b_short_timeout"),
            ),
            str(tmp / "bad.json"),
        ),
        "class": (
            udpeco(
                str(klass),
                "--class",
                "--exercise",
                "select_stdin",
                "--json",
                str(tmp / "class.json"),
            ),
            str(tmp / "class.json"),
        ),
    }
    return {k: (*done(p), path) for k, (p, path) in started.items()}


def test_a_passing_folder(runs) -> None:
    rc, out, err, path = runs["good"]
    assert (rc, err) == (0, ""), out
    lines = out.splitlines()
    assert lines[0].startswith("udpeco check: ")
    assert any(line.startswith("select_stdin  PASS") for line in lines), out
    assert "  [ok] select_stdin.gives_up_after_3s: " in out
    # v1's client is not there: its server's clauses run, the client's is missing (which
    # does not make the exit code non-zero).
    assert "  [ok] v1.server_echoes: " in out
    assert "  [--] v1.client_sends_and_prints_reply: " in out
    assert "not found: cliente_eco_v1.py" in out
    assert any(line.startswith("v1            MISSING") for line in lines), out
    assert lines[-1].startswith("Summary: 1 exercises pass, 0 fail, 0 not checkable, 1 missing")
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    assert TOP <= set(report) and report["lang"] == "en" and report["student"] is None
    assert report["isolation"] in ("netns", "sequential")
    assert [ex["id"] for ex in report["exercises"]] == ["select_stdin", "v1"]
    for ex in report["exercises"]:
        assert EXERCISE <= set(ex)
        for check in ex["checks"]:
            assert CHECK <= set(check)
    assert [ex["status"] for ex in report["exercises"]] == ["pass", "missing"]


def test_a_failing_folder_in_spanish(runs) -> None:
    rc, out, err, path = runs["bad"]
    assert (rc, err) == (1, ""), out
    assert "v3b           FALLA" in out
    assert "  [XX] v3b.timeout_after_5s: " in out and "el timeout no es de 5 s" in out
    assert "       práctica: «Con este método simplemente" in out
    assert out.splitlines()[-1].startswith("Resumen: 0 ejercicios pasan, 1 fallan")
    with open(path, encoding="utf-8") as f:
        assert json.load(f)["status"] == "fail"


def test_a_class(runs) -> None:
    rc, out, err, path = runs["class"]
    assert (rc, err) == (1, ""), out  # bea's select waits 1 s: a failure
    table = out.splitlines()
    head = next(i for i, line in enumerate(table) if line.startswith("alumno"))
    assert table[head].split() == ["alumno", "select", "comprobaciones"]
    assert table[head + 1].split() == ["ana", "ok", "2/2"]
    assert table[head + 2].split()[:2] == ["bea", "XX"]
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    # The class JSON (udpeco.check.classreport's, or a list of reports until it is merged)
    # names both students.
    assert "ana" in json.dumps(data) and "bea" in json.dumps(data)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--exercise", "v9"], "--exercise v9: unknown"),
        (["/no/such/folder"], "/no/such/folder: no such file or folder"),
        (["--python", "/bin/false"], "--python /bin/false: not a Python 3 interpreter"),
        (["--csv", "x.csv"], "--csv needs --class"),
        (["--class", "a", "b"], "--class needs one folder"),
        (["notes.txt"], "notes.txt: not a file name of the práctica"),
    ],
)
def test_user_mistakes_are_one_line(tmp_path, args, message) -> None:
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    rc, out, err = done(udpeco(*args, cwd=str(tmp_path)), 30)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


def test_an_empty_folder_is_one_line(tmp_path) -> None:
    rc, out, err = done(udpeco(str(tmp_path)), 30)
    assert rc == 2 and err.count("\n") == 1 and "none of the práctica's programs" in err


def test_docs_list_every_clause() -> None:
    from udpeco.check.library import CLAUSES

    with open(os.path.join(HERE, "..", "..", "docs", "check.md"), encoding="utf-8") as f:
        text = f.read()
    assert [c for c in CLAUSES if f"| `{c}` |" not in text] == []
