"""udpeco.scan agrees with `nmap -sU` on a range with several servers and a silent socket."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import udpeco
from scan_util import servers

pytestmark = pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")


def nmap_states(host: str, first: int, last: int) -> dict[int, str]:
    """nmap -sU's verdict for every port that is not closed (grepable output)."""
    args = ["nmap", "-sU", "-n", "-p", f"{first}-{last}", "-oG", "-", host]
    if ":" in host:
        args.insert(1, "-6")
    out = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True).stdout
    states: dict[int, str] = {}
    for line in out.splitlines():
        if "Ports:" not in line:
            continue
        for entry in line.split("Ports:")[1].split("\t")[0].split(","):
            port, state = entry.strip().split("/")[:2]
            states[int(port)] = state
    return states


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_same_verdicts_as_nmap(host: str) -> None:
    for _attempt in range(2):  # another test may bind a port of the range meanwhile
        with servers(200, 5, 1, host=host) as (ports, echo, [silent]):
            ours = udpeco.scan(host, ports, timeout=0.3)
            theirs = nmap_states(host, ports[0], ports[-1])
            silent_port = silent.getsockname()[1]
        ours_not_closed = {r.port: r.state for r in ours if r.state != "closed"}
        if ours_not_closed == theirs:
            break
    assert ours_not_closed == theirs
    assert {p for p, s in theirs.items() if s == "open"} == set(echo)
    assert theirs[silent_port] == "open|filtered"
