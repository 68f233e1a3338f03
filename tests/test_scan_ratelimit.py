"""Scans of a target whose kernel rate-limits ICMP errors (the default `icmp_ratelimit`), over a
veth pair between network namespaces.

- A scan of 1-65535 reports every open port within a second of its start (replies are not
  rate limited), and keeps reporting progress while the closed ports are decided at the
  target's pace.
- Scans back to back (the first one empties the target's ICMP budget), and scans over a link
  that loses 30% of the datagrams, give no wrong verdict: the scanner waits until the budget
  must have refilled before it trusts silence, and asks for more silences once it sees
  probes lost.

The two scenarios of the second test run at the same time, in two networks.
"""

from __future__ import annotations

import json
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
from scan_netns import CAN_RUN, REASON, Net, add_loss, network, servers

pytestmark = pytest.mark.skipif(not CAN_RUN, reason=REASON)

FULL_RANGE = textwrap.dedent(
    """
    import json, socket, sys, time, udpeco
    want = {int(p) for p in sys.argv[2].split(",")}
    # Spend the target's ICMP budget first (closed port 9): no engine hears an ICMP error in
    # the first second, and the one whose share holds 61000 hears nothing at all before it.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((sys.argv[1], 9))
        s.settimeout(5)
        refused = False  # an ICMP error came back: the target has taken the burst
        for _ in range(12):
            try:
                s.send(b"spend")
            except ConnectionRefusedError:
                refused = True
        if not refused:
            try:
                s.recv(1)
            except ConnectionRefusedError:
                pass
    start = time.monotonic()
    found, progress = {}, []
    class Enough(Exception):
        pass
    def on_found(r):
        found[r.port] = (time.monotonic() - start, r.state, r.service)
    def on_progress(done, total):
        now = time.monotonic() - start
        progress.append((now, done, total))
        if want <= set(found) and now > max(t for t, _, _ in found.values()) + 1.0:
            raise Enough
    try:
        udpeco.scan(sys.argv[1], "1-65535", timeout=0.3, progress=on_progress, found=on_found)
    except Enough:
        pass
    print(json.dumps({"found": found, "progress": progress}))
    """
)


def test_every_open_port_of_65535_is_reported_within_a_second() -> None:
    echo = [7, 20057, 61000]
    with network() as net, servers(net, echo, [5000]):
        p = net.run_in(
            net.scanner,
            sys.executable,
            "-c",
            FULL_RANGE,
            net.address,
            ",".join(map(str, echo)),
            timeout=60,
            check=True,
        )
    report = json.loads(p.stdout)
    found = {int(port): v for port, v in report["found"].items()}
    assert sorted(found) == echo, found
    for port, (at, state, service) in found.items():
        assert state == "open" and service == "echo", (port, state, service)
        # The goal, 1 s: 0.2-0.3 s measured for port 61000 on idle cores, 0.4-0.55 s
        # with both cores saturated by other processes, and 1.05-2.4 s when its engine waited a
        # whole timeout before re-probing (not knowing the round trip the other had measured).
        assert at < 1.0, f"port {port} reported {at:.2f} s after the start"
    # Progress kept coming (about every 50 ms) while the rest was decided at the ICMP pace.
    last_found = max(at for at, _, _ in found.values())
    later = [(t, done) for t, done, _ in report["progress"] if t > last_found]
    assert len(later) >= 5, report["progress"][-5:]
    assert report["progress"][-1][2] == 65535


def expected(first: int, last: int, echo: int, silent: int) -> dict[int, str]:
    states = {p: "closed" for p in range(first, last + 1)}
    states[echo] = "open"
    states[silent] = "open|filtered"
    return states


def back_to_back(net: Net, runs: int) -> list[str]:
    """Scans run back to back: the first one empties the target's ICMP budget."""
    first, last, echo, silent = 21000, 21007, 21002, 21005
    wrong = []
    with servers(net, [echo], [silent]):
        for i in range(runs):
            report = net.scan(f"{first}-{last}", "timeout=0.3")
            want = expected(first, last, echo, silent)
            bad = {p: s for p, s in report["states"].items() if s != want[p]}
            if bad:
                wrong.append(f"back-to-back run {i}: {bad}")
    return wrong


def lossy(net: Net, runs: int) -> list[str]:
    """Scans over a link that drops 30% of the datagrams reaching the target."""
    first, last, echo, silent = 22000, 22007, 22006, 22001
    add_loss(net, 30)
    wrong = []
    with servers(net, [echo], [silent]):
        for i in range(runs):
            report = net.scan(f"{first}-{last}", "timeout=0.3")
            want = expected(first, last, echo, silent)
            bad = {p: s for p, s in report["states"].items() if s != want[p]}
            if bad:
                wrong.append(f"lossy run {i}: {bad}")
    return wrong


def test_back_to_back_and_lossy_scans_give_no_wrong_verdict() -> None:
    with network() as a, network() as b, ThreadPoolExecutor(2) as pool:
        jobs = [pool.submit(back_to_back, a, 3), pool.submit(lossy, b, 3)]
        wrong = [w for job in jobs for w in job.result(timeout=120)]
    assert wrong == []
