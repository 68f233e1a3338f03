"""udpeco.bench and ``udpeco bench``: the load generator."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import udpeco
from gil_probe import other_thread_ticking
from load_helpers import (
    TOOLS,
    EchoThread,
    closed_port,
    echo_mmsg,
    process,
    sigint_latency,
    silent_peer,
    udpeco_cmd,
)
from udpeco.compare.harness import free_ports

KEYS = {"sent", "received", "lost", "rate", "p50_us", "p90_us", "p99_us", "p999_us", "elapsed"}


def check_sensible(r: dict[str, float], duration: float) -> None:
    assert KEYS <= r.keys()
    assert r["lost"] == r["sent"] - r["received"]
    assert r["elapsed"] >= duration
    assert abs(r["rate"] - r["received"] / r["elapsed"]) <= 0.05 * r["rate"] + 100
    assert 0 < r["min_us"] <= r["p50_us"] <= r["p90_us"] <= r["p99_us"] <= r["p999_us"]
    assert r["p999_us"] <= r["max_us"] < 1e6


def test_closed_loop_against_a_python_echo_server() -> None:
    with EchoThread() as echo:
        r = udpeco.bench("127.0.0.1", echo.port, duration=0.5, window=8, size=64)
        assert echo.received == r["sent"]
    check_sensible(r, 0.5)
    assert r["received"] > 200 and r["lost"] == 0


def test_ping_pong_against_socat() -> None:
    (port,) = free_ports(1)
    with process(["socat", f"UDP-LISTEN:{port},bind=127.0.0.1,reuseaddr", "PIPE"], port):
        r = udpeco.bench("localhost", port, duration=0.5, window=1, size=100)
    check_sensible(r, 0.5)
    assert r["received"] > 50 and r["lost"] == 0


@pytest.mark.skipif(
    not (TOOLS / "echo_mmsg.c").exists(), reason="../shared/tools/echo_mmsg.c is not here"
)
def test_against_the_reference_c_server(tmp_path: Path) -> None:
    with echo_mmsg(tmp_path) as port:
        r = udpeco.bench("127.0.0.1", port, duration=0.5)
    check_sensible(r, 0.5)
    assert r["lost"] == 0 and r["rate"] > 10_000


def test_loss_is_counted_when_the_server_drops() -> None:
    with EchoThread(drop_every=10) as lossy:
        r = udpeco.bench("127.0.0.1", lossy.port, duration=0.6, window=4)
    assert r["lost"] == r["sent"] - r["received"]
    assert 0.07 <= r["lost"] / r["sent"] <= 0.13, r


def test_silent_server_loses_everything() -> None:
    with silent_peer() as peer:
        r = udpeco.bench("127.0.0.1", peer.getsockname()[1], duration=0.3)
    assert r["received"] == 0 and r["lost"] == r["sent"] >= 64
    assert r["rate"] == 0 and r["p50_us"] == 0


def test_open_loop_rate_is_respected() -> None:
    with EchoThread() as echo:
        r = udpeco.bench("127.0.0.1", echo.port, duration=1.0, rate=2000)
    assert 1900 <= r["sent"] <= 2100, r
    assert r["lost"] == 0
    assert 1800 <= r["rate"] <= 2100, r


def test_progress_callback_and_its_errors() -> None:
    seen: list[dict[str, float]] = []
    with EchoThread() as echo:
        udpeco.bench("127.0.0.1", echo.port, duration=1.3, window=4, progress=seen.append)
        assert len(seen) == 1
        assert set(seen[0]) == {"elapsed", "sent", "received", "lost", "rate", "interval"}
        assert seen[0]["received"] > 0 and seen[0]["rate"] > 0

        def boom(_: dict[str, float]) -> None:
            raise RuntimeError("stop here")

        t = time.monotonic()
        with pytest.raises(RuntimeError, match="stop here"):
            udpeco.bench("127.0.0.1", echo.port, duration=10, progress=boom)
        assert time.monotonic() - t < 2


def test_errors() -> None:
    with pytest.raises(ConnectionRefusedError):
        udpeco.bench("127.0.0.1", closed_port(), duration=1)
    with pytest.raises(ValueError, match="size"):
        udpeco.bench("127.0.0.1", 9, size=4)
    with pytest.raises(ValueError, match="window"):
        udpeco.bench("127.0.0.1", 9, window=0)
    with pytest.raises(ValueError, match="duration"):
        udpeco.bench("127.0.0.1", 9, duration=-1)
    with pytest.raises(ValueError, match="rate"):
        udpeco.bench("127.0.0.1", 9, rate=0)
    with pytest.raises(OverflowError):
        udpeco.bench("127.0.0.1", 70000)
    with pytest.raises(udpeco.gaierror):
        udpeco.bench("no-such-host.invalid", 9)


def test_bench_releases_the_gil() -> None:
    with silent_peer() as peer, other_thread_ticking() as ticks:
        udpeco.bench("127.0.0.1", peer.getsockname()[1], duration=0.3)
    assert ticks.count > 50, ticks.count


def test_ctrl_c_stops_a_bench_within_200_ms() -> None:
    with EchoThread() as echo:
        code = (
            "import udpeco\n"
            "print('ready')\n"
            "try:\n"
            f"    udpeco.bench('127.0.0.1', {echo.port}, duration=30, window=4)\n"
            "except KeyboardInterrupt:\n    print('interrupted')\n"
        )
        latency, out = sigint_latency(code)
    assert out.startswith("interrupted"), out
    assert latency < 0.2, latency


# ---- the command line ------------------------------------------------------------------


def test_cli_table_and_progress() -> None:
    with EchoThread() as echo:
        r = subprocess.run(
            udpeco_cmd("bench", "127.0.0.1", str(echo.port), "--duration", "1.3", "--window", "4")
            + ["--progress"],
            capture_output=True,
            timeout=30,
        )
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "closed loop, window 4, 64-byte datagrams" in out
    for label in ("echoes/s", "sent", "received", "lost", "p50", "p90", "p99", "p99.9"):
        assert label in out
    assert r.stderr.decode().startswith("[  1.0 s]") and "echoes/s" in r.stderr.decode()


def test_cli_json_open_loop_without_progress_when_not_a_terminal() -> None:
    with EchoThread() as echo:
        r = subprocess.run(
            udpeco_cmd("bench", "127.0.0.1", str(echo.port), "--duration", "1.2")
            + ["--rate", "500", "--size", "32", "--json"],
            capture_output=True,
            timeout=30,
        )
    assert r.returncode == 0, r.stderr
    assert r.stderr == b"", "no progress line when stderr is not a terminal"
    result = json.loads(r.stdout)
    assert KEYS <= result.keys()
    assert 550 <= result["sent"] <= 650


def test_cli_errors_are_one_line() -> None:
    r = subprocess.run(
        udpeco_cmd("bench", "127.0.0.1", str(closed_port()), "--duration", "1"),
        capture_output=True,
        timeout=30,
    )
    assert r.returncode == 1
    assert r.stderr.count(b"\n") == 1 and b"refused" in r.stderr
    for bad in (
        ["--size", "4"],
        ["--window", "0"],
        ["--duration", "0"],
        ["--rate", "-5"],
        ["--window", "x"],
        ["--progress", "--no-progress"],
    ):
        r = subprocess.run(udpeco_cmd("bench", "127.0.0.1", "9", *bad), capture_output=True)
        assert r.returncode == 2, bad
        assert r.stderr.count(b"\n") == 1 and b"Traceback" not in r.stderr, r.stderr


def test_cli_ctrl_c_exits_130() -> None:
    with silent_peer() as peer:
        with process(
            udpeco_cmd("bench", "127.0.0.1", str(peer.getsockname()[1]), "--duration", "30")
            + ["--progress", "--interval", "0.2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as p:
            assert p.stdout is not None
            # The first interval line proves the load is running (startup may be slow).
            assert p.stdout.readline().startswith(b"[")
            t = time.monotonic()
            p.send_signal(2)
            assert p.wait(5) == 130
            assert time.monotonic() - t < 1.0
