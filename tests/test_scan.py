"""udpeco.scan on real sockets on loopback: every verdict, IPv4 and IPv6, arguments, Ctrl+C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
import udpeco
from gil_probe import other_thread_ticking
from scan_util import drain, servers


def test_echo_server_is_open_with_reply_and_rtt() -> None:
    with servers(5, 1) as (ports, echo, _):
        results = udpeco.scan("127.0.0.1", list(ports), timeout=0.2, probe=b"ping?")
    by_port = {r.port: r for r in results}
    r = by_port[echo[0]]
    assert r.state == "open"
    assert r.reply == b"ping?"
    assert isinstance(r.rtt, float) and 0 < r.rtt < 1.0  # loopback; generous for a loaded machine
    assert repr(r).startswith(f"ScanResult(port={echo[0]}, state='open', reply=b'ping?', rtt=")
    assert [x.port for x in results] == list(ports), "results in the order given"


def test_closed_port() -> None:
    with servers(1, 0, 1) as (_, _, [sock]):
        port = sock.getsockname()[1]
        sock.close()
        [r] = udpeco.scan("127.0.0.1", [port], timeout=0.2)
    assert (r.port, r.state, r.reply, r.rtt) == (port, "closed", None, None)


def test_closed_false_leaves_closed_ports_out() -> None:
    with servers(12, 1, 1) as (ports, echo, [silent]):
        quiet = silent.getsockname()[1]
        every = udpeco.scan("127.0.0.1", list(ports), timeout=0.2)
        shown = udpeco.scan("127.0.0.1", list(ports), timeout=0.2, closed=False)
    assert [r.port for r in every] == list(ports)
    assert [(r.port, r.state) for r in shown] == sorted(
        [(echo[0], "open"), (quiet, "open|filtered")]
    ), "the order given, closed ports left out"


def test_timeout_of_centuries_does_not_panic() -> None:
    # Instant + 1e19 s used to overflow: PanicException instead of a verdict. The longest
    # timeout accepted is the core's one bound; beyond it is a clear ValueError.
    with pytest.raises(ValueError, match="timeout must be from"):
        udpeco.scan("127.0.0.1", [9], timeout=1e19)
    with servers(1, 0, 1) as (_, _, [sock]):
        port = sock.getsockname()[1]
        sock.close()
        [r] = udpeco.scan("127.0.0.1", [port], timeout=udpeco._udpeco.LIMITS["seconds"][1])
    assert (r.port, r.state) == (port, "closed")


def test_silent_socket_is_open_filtered_after_a_second_probe() -> None:
    with servers(1, 0, 1) as (_, _, [sock]):
        port = sock.getsockname()[1]
        start = time.monotonic()
        [r] = udpeco.scan("127.0.0.1", [port], timeout=0.2, retries=1)
        elapsed = time.monotonic() - start
        probes = drain(sock)
    assert r.state == "open|filtered" and r.reply is None and r.rtt is None
    assert probes == 2, "probed again before calling it open|filtered"
    assert elapsed >= 0.2, "the last probe waits the full timeout"
    with servers(1, 0, 1) as (_, _, [sock]):
        [r] = udpeco.scan("127.0.0.1", [sock.getsockname()[1]], timeout=0.1, retries=3)
        assert r.state == "open|filtered"
        assert drain(sock) == 4


def test_ipv6_loopback() -> None:
    with servers(20, 1, 1, host="::1") as (ports, echo, [silent]):
        results = {r.port: r for r in udpeco.scan("::1", f"{ports[0]}-{ports[-1]}", timeout=0.2)}
        silent_port = silent.getsockname()[1]
    assert results[echo[0]].state == "open" and results[echo[0]].reply == b"udpeco"
    assert results[silent_port].state == "open|filtered"
    others = {p: r.state for p, r in results.items() if p not in (echo[0], silent_port)}
    assert set(others.values()) == {"closed"}


def test_host_name_and_port_iterables() -> None:
    with servers(3, 1) as (ports, echo, _):
        by_spec = udpeco.scan("localhost", f"{ports[0]},{ports[1]}-{ports[2]}", timeout=0.2)
        by_range = udpeco.scan("localhost", ports, timeout=0.2)
        by_gen = udpeco.scan("127.0.0.1", (p for p in ports), timeout=0.2)

    def verdicts(results: list[udpeco.ScanResult]) -> list[tuple[int, str]]:
        return [(r.port, r.state) for r in results]

    assert verdicts(by_spec) == verdicts(by_range) == verdicts(by_gen)
    assert [r.port for r in by_spec] == list(ports)
    assert {r.port for r in by_spec if r.state == "open"} == set(echo)


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"ports": "20100-20000"}, ValueError),
        ({"ports": ""}, ValueError),
        ({"ports": "0"}, ValueError),
        ({"ports": "x"}, ValueError),
        ({"ports": [70000]}, ValueError),
        ({"ports": [1.5]}, TypeError),
        ({"ports": b"1-5"}, TypeError),
        ({"ports": 5}, TypeError),
        ({"ports": "1", "timeout": 0}, ValueError),
        ({"ports": "1", "timeout": -1}, ValueError),
        ({"ports": "1", "retries": 0}, ValueError),
        ({"ports": "1", "rate": 0.0}, ValueError),
        ({"ports": "1", "concurrency": 0}, ValueError),
        ({"ports": "1", "probe": "text"}, TypeError),
    ],
)
def test_bad_arguments(kwargs: dict, exc: type) -> None:
    with pytest.raises(exc):
        udpeco.scan("127.0.0.1", **kwargs)


def test_unknown_host_is_gaierror() -> None:
    with pytest.raises(socket.gaierror):
        udpeco.scan("no-such-host.invalid", "1")


def test_rate_limit_spaces_probes() -> None:
    with servers(30, 0) as (ports, _, _):
        start = time.monotonic()
        results = udpeco.scan("127.0.0.1", ports, timeout=0.2, rate=100.0)
        elapsed = time.monotonic() - start
    assert {r.state for r in results} == {"closed"}
    # 30 probes at 100/s with a burst of one: about 0.29 s.
    assert elapsed >= 0.25


def test_progress_callback_and_other_threads_run() -> None:
    calls: list[tuple[int, int]] = []
    with servers(10, 0, 1) as (ports, _, _), other_thread_ticking() as ticks:
        udpeco.scan("127.0.0.1", ports, timeout=0.3, progress=lambda d, n: calls.append((d, n)))
    assert calls and calls[-1] == (10, 10)
    assert ticks.count > 50, "the GIL is released while scanning"


CHILD = textwrap.dedent(
    """
    import socket, sys, time, udpeco
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print("ready", flush=True)
    try:
        udpeco.scan("127.0.0.1", [s.getsockname()[1]], timeout=30)
    except KeyboardInterrupt:
        print(f"interrupted {time.monotonic():.6f}", flush=True)
    """
)


def test_ctrl_c_stops_a_long_scan_within_200_ms() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        sent = time.monotonic()
        os.kill(child.pid, signal.SIGINT)
        line = child.stdout.readline().split()
        assert child.wait(5) == 0
    finally:
        child.kill()
        child.wait()
    assert line[0] == "interrupted"
    assert float(line[1]) - sent < 0.2
