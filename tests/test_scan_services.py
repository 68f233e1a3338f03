"""Real UDP services from Debian's packages, in a network namespace, scanned and named.

dnsmasq (DNS, 53), chronyd (NTP, 123) and snmpd (SNMP, 161) ignore an arbitrary datagram, so
only the protocol probes find them; each reply must answer the probe (transaction id, origin
timestamp, request-id) to name its service. The same ports are scanned with `nmap -sU`, whose
verdicts must agree, and udpeco's `-oX` file is read back by python-libnmap, a real consumer
of nmap's XML.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from scan_netns import CAN_RUN, REASON, Net, network

DAEMONS = {"dnsmasq": "dnsmasq-base", "snmpd": "snmpd", "chronyd": "chrony"}
MISSING = [
    pkg for exe, pkg in DAEMONS.items() if shutil.which(exe, path="/usr/sbin:/usr/bin") is None
]
pytestmark = [
    pytest.mark.skipif(not CAN_RUN, reason=REASON),
    pytest.mark.skipif(bool(MISSING), reason=f"needs Debian packages {MISSING}"),
]

PORTS = "53,123,161,162,5353"
EXPECTED = {
    53: ("open", "domain"),
    123: ("open", "ntp"),
    161: ("open", "snmp"),
    162: ("closed", None),
    5353: ("closed", None),
}


@contextmanager
def daemon(net: Net, *cmd: str) -> Iterator[None]:
    proc = net.popen_in(
        net.target,
        *cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def services(net: Net, tmp: Path) -> Iterator[None]:
    addr = net.address
    (tmp / "snmpd.conf").write_text("rocommunity public default\n")
    (tmp / "chrony.conf").write_text(
        f"port 123\nbindaddress {addr}\nallow all\nlocal stratum 10\ncmdport 0\n"
        f"pidfile {tmp}/chronyd.pid\n"
    )
    with ExitStack() as stack:
        stack.enter_context(
            daemon(
                net,
                "dnsmasq",
                "--keep-in-foreground",
                "--no-resolv",
                "--no-hosts",
                "--conf-file=/dev/null",
                f"--listen-address={addr}",
                "--bind-interfaces",
                "--port=53",
                f"--pid-file={tmp}/dnsmasq.pid",
            )
        )
        stack.enter_context(
            daemon(
                net,
                "snmpd",
                "-f",
                "-Lf",
                "/dev/null",
                "-C",
                "-c",
                f"{tmp}/snmpd.conf",
                "-p",
                f"{tmp}/snmpd.pid",
                f"udp:{addr}:161",
            )
        )
        stack.enter_context(daemon(net, "chronyd", "-d", "-x", "-f", f"{tmp}/chrony.conf"))
        net.wait_listening([53, 123, 161])
        yield


def nmap_states(net: Net) -> dict[int, str]:
    out = net.run_in(
        net.scanner,
        "nmap",
        "-sU",
        "-n",
        "-Pn",
        "-p",
        PORTS,
        "-oX",
        "-",
        net.address,
        timeout=60,
        check=True,
    ).stdout
    root = ET.fromstring(out)
    return {
        int(p.get("portid", "0")): p.find("state").get("state", "")  # type: ignore[union-attr]
        for p in root.iter("port")
    }


def test_dns_ntp_and_snmp_servers_are_found_and_named() -> None:
    with network() as net, tempfile.TemporaryDirectory() as tmp, services(net, Path(tmp)):
        report = net.scan(PORTS, "timeout=0.5")
        xml_file = Path(tmp) / "scan.xml"
        cli = net.run_in(
            net.scanner,
            sys.executable,
            "-m",
            "udpeco",
            "scan",
            net.address,
            PORTS,
            "--reason",
            "-oX",
            str(xml_file),
            timeout=60,
        )
        xml = xml_file.read_text() if xml_file.exists() else ""
        theirs = nmap_states(net) if shutil.which("nmap") else None
    got = {p: (report["states"][p], report["services"][p]) for p in EXPECTED}
    assert got == EXPECTED
    assert cli.returncode == 0, cli.stderr
    assert "53/udp open domain udp-response" in cli.stdout.splitlines()
    assert "161/udp open snmp udp-response" in cli.stdout.splitlines()
    if theirs is not None:
        assert theirs == {p: s for p, (s, _) in EXPECTED.items()}, "nmap -sU agrees"
    libnmap = pytest.importorskip("libnmap.parser", reason="python-libnmap (test extra)")
    parsed = libnmap.NmapParser.parse_fromstring(xml)
    host = parsed.hosts[0]
    assert host.address == net.address
    assert {(s.port, s.state, s.service) for s in host.services if s.state == "open"} == {
        (53, "open", "domain"),
        (123, "open", "ntp"),
        (161, "open", "snmp"),
    }
