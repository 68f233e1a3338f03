"""`udpeco scan` on the command line: output, summary, bad port specifications, Ctrl+C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from scan_util import servers

UDPECO = [sys.executable, "-m", "udpeco"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*UDPECO, *args], capture_output=True, text=True, timeout=30)


def test_prints_open_ports_and_a_summary() -> None:
    with servers(40, 2, 1) as (ports, echo, _):
        p = run("scan", "127.0.0.1", f"{ports[0]}-{ports[-1]}", "--timeout", "0.2")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert sorted(lines[:-1]) == sorted(f"{port}/udp open echo" for port in echo)
    assert re.fullmatch(
        r"40 ports scanned on 127\.0\.0\.1 in [\d.]+ m?s: 2 open, 1 open\|filtered, 37 closed",
        lines[-1],
    ), lines[-1]
    assert p.stderr == "", "no progress bar when stderr is not a terminal"


def test_all_verdicts_and_probe_text() -> None:
    with servers(3, 1, 1) as (ports, echo, [silent]):
        spec = ",".join(str(p) for p in ports)
        p = run("scan", "localhost", spec, "--all", "--timeout", "0.1", "--probe", "hola")
        silent_port = silent.getsockname()[1]
    assert p.returncode == 0, p.stderr
    expected = {port: "open|filtered" if port == silent_port else "closed" for port in ports}
    # Open ports come first, as soon as found; a reply equal to the probe names an echo
    # service. The other verdicts follow in the order given.
    lines = p.stdout.splitlines()[:-1]
    assert lines[0] == f"{echo[0]}/udp open echo"
    assert lines[1:] == [
        f"{port}/udp {expected[port]} unknown" for port in ports if port not in echo
    ]


@pytest.mark.parametrize(
    "spec", ["20100-20000", "", "0", "70000", "1-70000", "abc", "1,,2", "-5", "1-2-3", "20000-"]
)
def test_bad_port_specifications_exit_2_with_one_line(spec: str) -> None:
    p = run("scan", "127.0.0.1", spec)
    assert p.returncode == 2
    assert p.stdout == ""
    assert len(p.stderr.splitlines()) == 1, p.stderr
    assert "Traceback" not in p.stderr
    assert "invalid port specification" in p.stderr or "error:" in p.stderr


@pytest.mark.parametrize(
    "args", [["--retries", "0"], ["--timeout", "0"], ["--timeout", "x"], ["--rate", "-1"]]
)
def test_bad_options_exit_2_with_one_line(args: list[str]) -> None:
    p = run("scan", "127.0.0.1", "1", *args)
    assert p.returncode == 2
    assert len(p.stderr.splitlines()) == 1 and "Traceback" not in p.stderr


@pytest.mark.parametrize(
    ("source", "code"), [("bogus", 2), ("::1", 2), ("192.0.2.77", 1), ("127.0.0.1,", 2)]
)
def test_bad_source_addresses_are_one_line(source: str, code: int) -> None:
    # Not an address, the wrong family, not this host's (TEST-NET-1: never bound).
    p = run("scan", "127.0.0.1", "1", "--source", source)
    assert p.returncode == code, p.stderr
    assert len(p.stderr.splitlines()) == 1 and "Traceback" not in p.stderr


def test_several_sources_share_the_ports() -> None:
    with servers(30, 2, 0) as (ports, echo, _):
        spec = f"{ports[0]}-{ports[-1]}"
        p = run("scan", "127.0.0.1", spec, "--source", "127.0.0.1,127.0.0.2,127.0.0.3")
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.splitlines()[:-1]) == sorted(f"{port}/udp open echo" for port in echo)
    assert p.stdout.splitlines()[-1].endswith("2 open, 28 closed"), p.stdout


def test_unknown_host_is_one_line() -> None:
    p = run("scan", "no-such-host.invalid", "1")
    assert p.returncode != 0
    assert len(p.stderr.splitlines()) == 1 and "Traceback" not in p.stderr
    assert "cannot resolve 'no-such-host.invalid'" in p.stderr


def test_ctrl_c_ends_the_command_promptly() -> None:
    with servers(1, 0, 1) as (ports, _, [silent]):
        child = subprocess.Popen(
            [*UDPECO, "scan", "127.0.0.1", str(ports[0]), "--timeout", "30"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            silent.settimeout(30)
            silent.recvfrom(2048)  # the probe came: the scan is waiting for a reply
            sent = time.monotonic()
            os.kill(child.pid, signal.SIGINT)
            code = child.wait(5)
            elapsed = time.monotonic() - sent
        finally:
            child.kill()
            child.wait()
    assert code == 130
    assert elapsed < 0.5, "stopped within a tick (plus interpreter shutdown)"
    assert "Traceback" not in child.stderr.read()  # type: ignore[union-attr]


def test_progress_bar_on_a_terminal_only() -> None:
    import pty

    master, slave = pty.openpty()
    with servers(50, 0, 1) as (ports, _, _):
        p = subprocess.run(
            [*UDPECO, "scan", "127.0.0.1", f"{ports[0]}-{ports[-1]}", "--timeout", "0.6"],
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
            timeout=30,
        )
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert p.returncode == 0
    assert b"/50 ports" in shown and b"[" in shown, shown
    assert "ports" not in p.stdout.splitlines()[0] or p.stdout.startswith("50 ports")


def test_json_reason_and_nmap_xml(tmp_path) -> None:
    import json
    import xml.etree.ElementTree as ET

    with servers(30, 1, 1) as (ports, echo, [silent]):
        spec = f"{ports[0]}-{ports[-1]}"
        js = run("scan", "127.0.0.1", spec, "--json", "--all", "--timeout", "0.1")
        rs = run("scan", "127.0.0.1", spec, "--reason", "--timeout", "0.1")
        xml_file = tmp_path / "out.xml"
        xs = run("scan", "127.0.0.1", spec, "-oX", str(xml_file), "--timeout", "0.1")
        silent_port = silent.getsockname()[1]
    assert js.returncode == rs.returncode == xs.returncode == 0, js.stderr + rs.stderr + xs.stderr
    *lines, last = map(json.loads, js.stdout.splitlines())
    rows = {r["port"]: r for r in lines}
    assert set(rows) == set(ports)
    # JSON Lines end with the summary object (docs/json.md).
    summary = last["summary"]
    assert set(last) == {"summary"} and summary["ports"] == len(ports) == 30
    assert summary["host"] == "127.0.0.1" and summary["elapsed"] > 0
    assert summary["states"] == {"open": 1, "open|filtered": 1, "closed": 28}
    assert set(rows[echo[0]]) == {"port", "state", "reason", "service", "rtt"}
    assert rows[echo[0]]["state"] == "open" and rows[echo[0]]["service"] == "echo"
    assert rows[echo[0]]["reason"] == "udp-response" and rows[echo[0]]["rtt"] > 0
    assert rows[silent_port]["reason"] == "no-response" and rows[silent_port]["rtt"] is None
    assert {r["reason"] for p, r in rows.items() if p not in (echo[0], silent_port)} == {
        "port-unreach"
    }
    assert rs.stdout.splitlines()[0] == f"{echo[0]}/udp open echo udp-response"
    # The structure of `nmap -sU -oX`: 28 closed ports collapse into <extraports>.
    host = ET.parse(xml_file).getroot().find("host")
    assert host is not None
    extra = host.find("ports/extraports")
    assert extra is not None and extra.get("state") == "closed" and extra.get("count") == "28"
    listed = {
        int(p.get("portid", 0)): (p.find("state").get("state"), p.find("service").get("name"))  # type: ignore[union-attr]
        for p in host.iter("port")
    }
    assert listed == {echo[0]: ("open", "echo"), silent_port: ("open|filtered", "unknown")}
    libnmap = pytest.importorskip("libnmap.parser", reason="python-libnmap (test extra)")
    report = libnmap.NmapParser.parse_fromfile(str(xml_file))
    assert [(s.port, s.state) for s in report.hosts[0].services if s.state == "open"] == [
        (echo[0], "open")
    ]


def test_nmap_payloads_file() -> None:
    with servers(3, 1, 0) as (ports, echo, _):
        spec = f"{ports[0]}-{ports[-1]}"
        bad = run("scan", "127.0.0.1", spec, "--nmap-payloads", "/nonexistent/nmap-payloads")
        if os.path.exists("/usr/share/nmap/nmap-payloads"):
            ok = run("scan", "127.0.0.1", spec, "--nmap-payloads")
            assert ok.returncode == 0, ok.stderr
            assert ok.stdout.splitlines()[0] == f"{echo[0]}/udp open echo"
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1
    assert "cannot read /nonexistent/nmap-payloads" in bad.stderr
