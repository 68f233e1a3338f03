"""The command line as a user meets it: ``--version``, one error style, ``serve PORT`` like the
lab servers, ``--help`` with examples and how to stop, ``serve --json``."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys

import pytest
from echo_helpers import LOOP, ask, client, finish, start_serve


def udpeco(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "udpeco", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_version() -> None:
    import udpeco as module

    r = udpeco("--version")
    assert r.returncode == 0 and r.stdout == f"udpeco {module.__version__}\n"


@pytest.mark.parametrize(
    ("args", "prefix"),
    [
        (["nope"], "udpeco: error: argument COMMAND: invalid choice"),
        (["serve", "--port", "x"], "udpeco serve: error: argument --port: "),
        (["serve", "70000"], "udpeco serve: error: argument PORT: "),
        (["serve", "1", "--port", "2"], "udpeco serve: error: give the ports as PORT or"),
        (["serve", "--json-file", "/no/such/dir/x.json"], "udpeco serve: error: argument --json"),
        (["compare", "nope"], "udpeco compare: error: unknown scenario 'nope'"),
        (["compare", "--repeat", "0"], "udpeco compare: error: argument --repeat: "),
    ],
)
def test_every_mistake_is_one_line_in_one_style(args: list[str], prefix: str) -> None:
    r = udpeco(*args)
    assert r.returncode == 2, r
    assert r.stdout == ""
    assert r.stderr.startswith(prefix), r.stderr
    assert r.stderr.count("\n") == 1


def test_a_runtime_failure_has_the_same_prefix() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind((LOOP, 0))
        port = taken.getsockname()[1]
        r = udpeco("serve", str(port), "--bind", LOOP)
    assert r.returncode == 1
    assert r.stderr.startswith(f"udpeco serve: error: cannot listen on {LOOP}:{port}: ")


@pytest.mark.parametrize("command", ["serve", "compare"])
def test_help_has_examples_and_says_how_to_stop(command: str) -> None:
    r = udpeco(command, "--help")
    assert r.returncode == 0
    assert "examples:" in r.stdout and f"udpeco {command} " in r.stdout.split("examples:")[1]
    assert "--json" in r.stdout
    if command == "serve":
        stop = r.stdout.split("how to stop:")[1]
        assert "Ctrl+C" in stop and "'.'" in stop and "--idle-timeout" in stop


def test_ports_are_positional_like_the_lab_servers_and_json_at_exit() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a:
        a.bind((LOOP, 0))
        first = a.getsockname()[1]
    # Two positional ports, as servidor_eco_v3 takes them (the second one ephemeral).
    proc, port = start_serve(str(first), "0", "--json")
    assert port == first
    s = client()
    try:
        assert ask(s, first, b"hola") == b"hola"
    finally:
        s.close()
    code, out, err = finish(proc, signal.SIGINT)
    assert code == 130, err
    lines = out.splitlines()
    assert lines[0].startswith("Message[")
    report = json.loads(lines[-1])
    assert report["ports"][0] == first and len(report["ports"]) == 2
    assert report["host"] == LOOP and report["exit_code"] == 130
    assert report["datagrams"] == 1 and report["bytes"] == 4 and report["clients"] == 1
    assert report["log_error"] is None


def test_json_file_is_written_when_the_server_ends_by_itself(tmp_path) -> None:
    path = tmp_path / "counters.json"
    r = udpeco(
        "serve", "0", "--bind", LOOP, "--quiet", "--idle-timeout", "0.2", "--json-file", str(path)
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    report = json.loads(path.read_text())
    assert report["datagrams"] == 0 and report["exit_code"] == 0 and report["drops"] == 0


def test_long_times_are_shown_in_human_units() -> None:
    from udpeco.cli import duration_text

    assert duration_text(0.0123) == "12.3 ms"
    assert duration_text(4.9935) == "4.99 s"
    assert duration_text(125.2) == "2 min 05 s"
