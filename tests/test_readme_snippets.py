"""The README's Python snippets marked ``<!-- snippet -->`` run as written and pass mypy.

Each runs in its own process; as root with ``unshare`` at hand, in a network namespace of its
own (only ``lo``, brought up), so that a snippet binding the práctica's port 44444 never meets
another test's server on this machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARK = re.compile(r"<!-- snippet -->\n```python\n(.*?)```", re.DOTALL)


def snippets() -> list[str]:
    return MARK.findall((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_has_the_marked_snippets() -> None:
    found = snippets()
    assert len(found) >= 3
    assert any("EchoServer(" in s for s in found)
    assert any("import udpeco as socket" in s for s in found)
    assert any("udpeco.Client(" in s for s in found)


def isolated(cmd: list[str]) -> list[str]:
    """``cmd`` in a new network namespace with loopback up, when this process may make one."""
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None or shutil.which("ip") is None:
        return cmd
    probe = subprocess.run([unshare, "--net", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return cmd
    return [unshare, "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *cmd]


@pytest.mark.parametrize("index", range(len(snippets())))
def test_snippet_runs(index: int, tmp_path: Path) -> None:
    path = tmp_path / f"snippet_{index}.py"
    path.write_text(snippets()[index], encoding="utf-8")
    r = subprocess.run(
        isolated([sys.executable, str(path)]),
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr


def test_snippets_pass_mypy(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    files = []
    for i, code in enumerate(snippets()):
        files.append(tmp_path / f"snippet_{i}.py")
        files[-1].write_text(code, encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=dict(os.environ, MYPYPATH=str(ROOT / "python")),
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
