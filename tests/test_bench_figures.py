"""``udpeco bench``'s figures checked against servers whose behaviour is known: a fixed delay,
a stall, dropped, duplicated and reordered datagrams, alternating delays (jitter)."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from typing import Any

import udpeco
from echo_helpers import LOOP, finish, start_serve
from load_helpers import EchoThread, udpeco_cmd


class ScriptedEcho:
    """A stdlib echo server in a thread that misbehaves on purpose, by sequence number
    (the first 8 bytes of each datagram, little-endian):

    - ``stall_at``: before answering that datagram, sleep ``stall`` seconds once;
    - ``dup_every``: answer every datagram whose sequence number is 3 modulo it twice;
    - ``swap_every``: hold every datagram whose sequence number is 5 modulo it until the
      next one arrives, and answer that one first;
    - ``alternate``: answer every other datagram ``alternate`` seconds late.

    It counts what it did, so the test knows the true figures."""

    def __init__(
        self,
        *,
        stall_at: int | None = None,
        stall: float = 0.0,
        dup_every: int = 0,
        swap_every: int = 0,
        alternate: float = 0.0,
    ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.02)
        self.port = self.sock.getsockname()[1]
        self.stall_at, self.stall = stall_at, stall
        self.dup_every, self.swap_every, self.alternate = dup_every, swap_every, alternate
        self.received = self.duplicated = self.swapped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        held: tuple[bytes, Any] | None = None
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                if held is not None:  # nothing came after it: release it in order
                    self.sock.sendto(*held)
                    held = None
                continue
            except OSError:
                return
            self.received += 1
            seq = int.from_bytes(data[:8], "little")
            if seq == self.stall_at:
                time.sleep(self.stall)
            if self.alternate and seq % 2:
                time.sleep(self.alternate)
            if self.swap_every and seq % self.swap_every == 5 and held is None:
                held = (data, addr)
                continue
            self.sock.sendto(data, addr)
            if self.dup_every and seq % self.dup_every == 3:
                self.sock.sendto(data, addr)
                self.duplicated += 1
            if held is not None:
                self.sock.sendto(*held)
                held = None
                self.swapped += 1

    def __enter__(self) -> ScriptedEcho:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def test_p50_against_serve_with_a_10_ms_delay() -> None:
    # One datagram at a time: the server's delay timer has millisecond resolution (its
    # epoll timeout is rounded up), so replies due within the same millisecond would add
    # up to 1 ms to each other's wait.
    proc, port = start_serve("--delay", "0.01", "--quiet")
    try:
        closed = udpeco.bench(LOOP, port, duration=1.0, window=1)
        opened = udpeco.bench(LOOP, port, duration=1.0, rate=80)
    finally:
        finish(proc)
    for r in (closed, opened):
        assert r["lost"] == 0, r
        assert 9_000 <= r["p50_us"] <= 11_000, r
        assert r["min_us"] >= 9_900, r  # no reply can beat the delay


def test_a_stall_shows_in_the_corrected_percentiles_only() -> None:
    # 1000 datagrams/s, at most 4 in flight (wrk2's connections), the server stalls 200 ms
    # once after 0.4 s. About 200 datagrams fall due during the stall: timed from when
    # they were due, they wait up to 200 ms (over 10% of the run); timed from their actual
    # send, only the 4 in flight saw the stall.
    with ScriptedEcho(stall_at=400, stall=0.2) as echo:
        r = udpeco.bench("127.0.0.1", echo.port, duration=1.5, rate=1000, window=4)
    unc = r["uncorrected"]
    assert r["lost"] == 0, r
    assert r["p99_us"] >= 120_000 and r["max_us"] >= 180_000, r
    assert r["p90_us"] >= 15_000, r
    assert unc["p99_us"] <= 50_000, r
    assert unc["max_us"] >= 150_000, "the datagrams in flight did wait"
    # Without a window cap the open loop keeps sending during the stall: those datagrams
    # queue in the server's socket, so the stall shows in both figures.
    with ScriptedEcho(stall_at=400, stall=0.2) as echo:
        r = udpeco.bench("127.0.0.1", echo.port, duration=1.5, rate=1000)
    assert r["uncorrected"]["p99_us"] >= 120_000, r
    assert r["p99_us"] >= 120_000, r


def test_reported_loss_is_the_known_loss() -> None:
    with EchoThread(drop_every=10) as lossy:
        r = udpeco.bench("127.0.0.1", lossy.port, duration=1.0, rate=1000)
        assert lossy.received == r["sent"], "loopback delivered every datagram"
        dropped = lossy.received // 10
    # Exact unless a reply took longer than the final grace period (a loaded machine).
    assert dropped <= r["lost"] <= dropped + 2, (dropped, r)
    assert r["duplicates"] == r["out_of_order"] == 0, r


def test_duplicates_and_reordering_are_counted_by_sequence_number() -> None:
    with ScriptedEcho(dup_every=7, swap_every=10) as echo:
        r = udpeco.bench("127.0.0.1", echo.port, duration=0.8, rate=1000)
    assert echo.duplicated > 50 and echo.swapped > 50
    assert r["duplicates"] == echo.duplicated, (echo.duplicated, r)
    assert r["out_of_order"] == echo.swapped, (echo.swapped, r)
    assert r["lost"] == 0 and r["received"] == r["sent"], r


def test_jitter_of_alternating_delays() -> None:
    # Every other reply 4 ms late: the transit time changes by 4 ms at every datagram, so
    # RFC 3550's jitter converges to 4 ms (sleeps overshoot on a busy machine, hence the
    # upper bound).
    with ScriptedEcho(alternate=0.004) as echo:
        r = udpeco.bench("127.0.0.1", echo.port, duration=0.8, rate=100)
    assert 2_500 <= r["jitter_us"] <= 9_000, r
    with EchoThread() as steady:
        r = udpeco.bench("127.0.0.1", steady.port, duration=0.5, window=1)
    assert r["jitter_us"] < 2_500, r


REPORT_KEYS = {
    "sent",
    "received",
    "lost",
    "late",
    "duplicates",
    "out_of_order",
    "stray",
    "rate",
    "jitter_us",
    "p50_us",
    "p90_us",
    "p99_us",
    "p999_us",
    "p9999_us",
    "min_us",
    "max_us",
    "mean_us",
    "uncorrected",
    "elapsed",
    "warmup",
    "cpu",
    "intervals",
    "gso",
    "gro",
}
PERCENTILES = {"p50_us", "p90_us", "p99_us", "p999_us", "p9999_us", "min_us", "max_us", "mean_us"}
RUN_ONLY = {"elapsed", "warmup", "cpu", "intervals", "gso", "gro"}
INTERVAL_KEYS = (REPORT_KEYS - RUN_ONLY) | {"start", "end"}


def test_cli_json_with_warmup_and_intervals() -> None:
    with EchoThread() as echo:
        r = subprocess.run(
            udpeco_cmd("bench", "127.0.0.1", str(echo.port), "--duration", "1.0")
            + ["--rate", "500", "--warmup", "0.4", "--interval", "0.5", "--json"],
            capture_output=True,
            timeout=30,
        )
        assert r.returncode == 0, r.stderr
        assert echo.received >= 650, "the warm-up's datagrams were sent too"
    result = json.loads(r.stdout)
    assert set(result) == REPORT_KEYS
    assert set(result["uncorrected"]) == PERCENTILES
    assert result["warmup"] == 0.4
    assert 0 < result["cpu"] < 2 * result["elapsed"]
    assert 450 <= result["sent"] <= 550, "the warm-up is left out"
    assert [round(i["start"], 1) for i in result["intervals"]] == [0.0, 0.5]
    for i in result["intervals"]:
        assert set(i) == INTERVAL_KEYS
        assert set(i["uncorrected"]) == PERCENTILES
    assert sum(i["sent"] for i in result["intervals"]) == result["sent"]


def test_cli_interval_lines_and_table() -> None:
    with EchoThread() as echo:
        r = subprocess.run(
            udpeco_cmd("bench", "127.0.0.1", str(echo.port), "--duration", "1.0")
            + ["--rate", "300", "--window", "8", "--interval", "0.5", "--no-gso"],
            capture_output=True,
            timeout=30,
        )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0].startswith("[   0.0-   0.5 s]") and lines[1].startswith("[   0.5-   1.0 s]")
    assert "open loop at 300 datagrams/s, at most 8 in flight" in lines[2]
    assert "GSO" not in lines[2]
    text = "\n".join(lines)
    for label in ("jitter", "duplicates", "out of order", "p99.99", "(uncorrected)"):
        assert label in text
    assert r.stderr == b""
