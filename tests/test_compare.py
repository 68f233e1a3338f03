"""``udpeco compare``: práctica scenarios side by side on the stdlib, the drop-in, the engine
(run through its ``udpeco`` command), with a progress line per run and ``--json``."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from udpeco.compare import ORDER, SCENARIOS


def compare(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "udpeco", "compare", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def rows(out: str) -> dict[str, str]:
    """Each table row by its runner name (first column)."""
    found = {}
    for line in out.splitlines():
        m = re.match(r"(stdlib socket|udpeco drop-in|udpeco [a-z]+(?: --log)?)\s{2,}(.*)$", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def test_help_explains_every_scenario():
    out = compare("--help")
    assert out.returncode == 0
    for name, scenario in SCENARIOS.items():
        assert f"{name}: " in out.stdout
        assert scenario.help.split()[0] in out.stdout
    # Every práctica server with a Python-vs-Rust story has a scenario.
    assert set(ORDER) == set(SCENARIOS) >= {"v1", "v25", "v3", "v3b", "v3b_11", "v3_10"}


@pytest.mark.parametrize(
    "args", [["nope"], ["v1", "--duration", "0"], ["final1", "--ports", "x"], ["--repeat", "0"]]
)
def test_bad_arguments_are_one_line(args):
    out = compare(*args)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "error",
    [
        subprocess.TimeoutExpired(["servidor_eco_v1"], 10),
        ValueError("could not convert string to float: ''"),
    ],
)
def test_a_scenario_that_fails_is_one_line(monkeypatch, capsys, error):
    from udpeco.cli import main
    from udpeco.compare import Scenario

    def fails(opts):
        raise error

    monkeypatch.setitem(SCENARIOS, "v1", Scenario("v1", "fails", fails))
    assert main(["compare", "v1"]) == 1
    out = capsys.readouterr()
    assert out.out.startswith("v1: could not run: ") and out.out.count("\n") == 1
    assert out.err == ""


def check_table(out: subprocess.CompletedProcess, unit: str) -> dict[str, str]:
    assert out.returncode == 0, out.stdout + out.stderr
    table = rows(out.stdout)
    # A progress line on stderr for every run, as it ends.
    progress = [line.split(": ")[1] for line in out.stderr.splitlines()]
    assert set(progress) == set(table), out.stderr
    assert table["stdlib socket"].startswith("reference")
    assert table["udpeco drop-in"].startswith("same")  # the same transcript on both backends
    assert unit in table["stdlib socket"] and unit in table["udpeco drop-in"]
    engines = [v for k, v in table.items() if k.startswith("udpeco ") and k != "udpeco drop-in"]
    assert len(engines) == 1
    engine = engines[0]
    assert unit in engine
    return table


def test_v1_rates():
    check_table(compare("v1", "--duration", "0.3", "--repeat", "1"), "echoes/s")


def test_final1_scan_times():
    table = check_table(compare("final1", "--ports", "3"), " s ")
    # cliente_final1's scan waits 0.5 s on every silent port before the server's.
    m = re.search(r"server on port #(\d+)", table["stdlib socket"])
    silent = int(m.group(1)) - 1
    took = float(re.search(r"([\d.]+) s ", table["stdlib socket"]).group(1))
    assert 0.5 * silent <= took <= 0.5 * silent + 2.0


def test_final2_lines():
    table = check_table(compare("final2", "--messages", "500", "--repeat", "1"), "lines/s")
    assert "505 lines;" in table["stdlib socket"] and "505 lines;" in table["udpeco drop-in"]


def test_client_requests():
    table = check_table(compare("client", "--requests", "200", "--repeat", "1"), "req/s")
    engine = table["udpeco client"]
    assert engine.startswith("same (client)")


def test_v3b_11_one_timeout_per_socket_cannot_multiplex():
    table = check_table(compare("v3b_11", "--repeat", "1"), " s ")
    # The lab server answers a 2nd datagram on PORT1 only when PORT2's 0.5 s timeout ends.
    for runner in ("stdlib socket", "udpeco drop-in"):
        took = float(re.search(r"([\d.]+) s ", table[runner]).group(1))
        assert 0.45 <= took <= 3.0, table
    assert table["udpeco serve"].startswith("same (client)")


def test_v3_10_json_and_the_engine_does_not_serialise_the_delay():
    out = compare("v3_10", "--repeat", "1", "--json")
    assert out.returncode == 0, out.stderr
    (result,) = json.loads(out.stdout)["scenarios"]
    got = {row["runner"]: row for row in result["rows"]}
    assert got["stdlib socket"]["transcript"] == "reference"
    assert got["udpeco drop-in"]["transcript"] == "same"
    assert got["udpeco serve"]["transcript"] == "same (client)"
    # Three 0.3 s sleeps one after the other in the lab server; one 0.3 s delay in the engine.
    assert got["stdlib socket"]["figure"] >= 0.85
    assert 0.28 <= got["udpeco serve"]["figure"] < 0.8
    assert result["differs"] is None and got["stdlib socket"]["unit"] == "s"


@pytest.mark.parametrize("name", ["v25", "v3b"])
def test_polling_and_settimeout_servers_match_on_both_backends(name):
    table = check_table(compare(name, "--repeat", "1", "--duration", "0.3"), "/s")
    if name == "v3b":
        for row in table.values():
            assert "ended by itself" in row and "(exit 0;" in row
