"""The README's install command, a new user's first steps, and what the CLI says about itself.

The install test runs the README's command 1 word for word in a copy of this checkout, with the
system's own ``python3`` first on PATH (on Debian/Ubuntu an "externally managed" interpreter that
refuses ``pip install``: PEP 668) and nothing of the test environment's virtualenv, then talks
to the server it starts.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
import udpeco

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = Path("/usr/bin/python3")


def readme_command(number: int) -> str:
    """The shell command in the code block under the README's ``**N. ...`` step."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(rf"\*\*{number}\. [^\n]*\n(?:[^\n]*\n)*?```sh\n(.+?)\n```", text)
    assert m, f"README has no step {number} with a sh code block"
    return m.group(1).strip()


def copy_checkout(dest: Path) -> None:
    """The tracked and untracked-but-not-ignored files of this checkout, copied to ``dest``."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in files:
        if not raw:
            continue
        rel = raw.decode()
        src = ROOT / rel
        if not src.is_file():
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)


def clean_env(tmp: Path) -> dict[str, str]:
    """A login-like environment: the system's python3 first on PATH, no virtualenv, cargo kept."""
    cargo = shutil.which("cargo")
    assert cargo, "cargo is needed to build udpeco"
    path = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    if SYSTEM_PYTHON.exists():
        path.remove("/usr/bin")
        path.insert(0, "/usr/bin")
    path.append(str(Path(cargo).resolve().parent))
    env = {
        "PATH": os.pathsep.join(path),
        "HOME": str(tmp / "home"),
        "LANG": "C.UTF-8",
        # The toolchain and crate cache of this machine (nothing to do with Python).
        "CARGO_HOME": os.environ.get("CARGO_HOME", str(Path.home() / ".cargo")),
        "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(Path.home() / ".rustup")),
        # The checkout's own build folder: the dependencies compiled by the test command's own
        # install are reused (the crate itself is rebuilt, from the copy's path).
        "CARGO_TARGET_DIR": str(ROOT / "target"),
    }
    (tmp / "home").mkdir()
    return env


def udp_port_owners(port: int) -> list[int]:
    """The pids of the processes with a UDP socket bound to ``port`` (from ``ss``)."""
    out = subprocess.run(
        ["ss", "-H", "-u", "-a", "-n", "-p", f"sport = :{port}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return [int(pid) for pid in re.findall(r"pid=(\d+)", out)]


def _session_of(pid: int) -> int:
    try:
        return os.getsid(pid)
    except OSError:
        return -1


def test_system_python_is_the_one_readme_targets() -> None:
    """On Debian/Ubuntu the system's python3 refuses pip install: the README must not need it."""
    if not SYSTEM_PYTHON.exists():
        pytest.skip("no /usr/bin/python3 on this machine")
    out = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    marker = Path(out.stdout.strip()) / "EXTERNALLY-MANAGED"
    if not marker.exists():
        pytest.skip(f"{SYSTEM_PYTHON} is not externally managed here")
    refused = subprocess.run(
        [str(SYSTEM_PYTHON), "-m", "pip", "install", "--dry-run", "udpeco-not-a-package"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0
    assert "externally-managed-environment" in refused.stderr


def test_readme_install_command_works_in_a_clean_environment(tmp_path: Path) -> None:
    command = readme_command(1)
    assert "pip install" not in command.split("&&")[0] or ".venv" in command
    checkout = tmp_path / "udpeco"
    checkout.mkdir()
    copy_checkout(checkout)
    env = clean_env(tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("0.0.0.0", 44444))
        except OSError:
            pytest.skip("port 44444 is busy: the README's server could not bind it")
    proc = subprocess.Popen(
        ["bash", "-c", command],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        # Wait until a process of the command's own session has bound UDP 44444 (another
        # program on this machine may use that port too: only our server's echo counts).
        deadline = time.monotonic() + 900  # a cold release build on a loaded 2-core machine
        while time.monotonic() < deadline and proc.poll() is None:
            if any(_session_of(pid) == proc.pid for pid in udp_port_owners(44444)):
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stdout.read().decode(errors="replace")[-2000:]
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.settimeout(0.5)
        client.sendto(b"hola", ("127.0.0.1", 44444))
        reply = client.recv(100)
        client.close()
        assert reply == b"hola"
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = out.decode(errors="replace")
    assert "Message[127.0.0.1:" in text and "] - hola" in text, text[-2000:]
    venv_python = checkout / ".venv" / "bin" / "python"
    assert venv_python.exists(), "the README's command must make .venv"
    if SYSTEM_PYTHON.exists():
        base = subprocess.run(
            [str(venv_python), "-c", "import sys; print(sys.base_prefix)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert base == "/usr", f"the venv must be made from the system's python3, not {base}"


def test_version_is_the_build_version() -> None:
    cargo = (ROOT / "Cargo.toml").read_text(encoding="utf-8")
    version = re.search(r'^version = "([^"]+)"', cargo, re.M)
    assert version
    assert udpeco.__version__ == version.group(1)
    out = subprocess.run(
        [sys.executable, "-m", "udpeco", "--version"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0
    assert out.stdout.strip() == f"udpeco {version.group(1)}"


def test_dir_has_no_stray_names() -> None:
    # Subpackages (udpeco.cli, udpeco.check...) appear once something imports them: fine.
    public = {
        n
        for n in dir(udpeco)
        if not n.startswith("_") and not isinstance(getattr(udpeco, n), types.ModuleType)
    }
    assert "annotations" not in public
    assert public <= set(udpeco.__all__)


def test_practica_copy_writes_editable_programs_and_loses_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "mi_practica"
    udp = [sys.executable, "-m", "udpeco", "practica"]
    out = subprocess.run([*udp, "copy", str(dest)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    listed = subprocess.run([*udp, "list"], capture_output=True, text=True, timeout=30)
    names = listed.stdout.split()
    assert "servidor_eco_v1.py" in names and "backend.py" in names
    assert sorted(p.name for p in dest.iterdir()) == sorted(names)
    # The student's edit is what runs.
    program = dest / "servidor_eco_v1.py"
    program.write_text(
        program.read_text(encoding="utf-8").replace("Usage: python", "Uso editado: python"),
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, str(program), "1", "2", "3"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=dest,
    )
    assert "Uso editado: python" in run.stdout + run.stderr
    # A second copy refuses, in one line, and keeps the edit.
    again = subprocess.run([*udp, "copy", str(dest)], capture_output=True, text=True, timeout=30)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "--force" in again.stderr
    assert "Uso editado" in program.read_text(encoding="utf-8")
    forced = subprocess.run(
        [*udp, "copy", str(dest), "--force"], capture_output=True, text=True, timeout=30
    )
    assert forced.returncode == 0
    assert "Uso editado" not in program.read_text(encoding="utf-8")


def test_practica_copy_into_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    target = tmp_path / "afile"
    target.write_text("x")
    out = subprocess.run(
        [sys.executable, "-m", "udpeco", "practica", "copy", str(target)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert target.read_text() == "x"
