"""udpeco.Proxy and ``udpeco proxy``: measured loss, duplication, reordering, delay and jitter
through the impairment proxy, seed reproducibility, the byte bound, signals and messages."""

from __future__ import annotations

import json
import signal
import socket
import statistics
import struct
import subprocess
import threading
import time
from collections import Counter

import pytest
import udpeco
from echo_helpers import wait_until
from gil_probe import other_thread_ticking
from load_helpers import EchoThread, sigint_latency, silent_peer, udpeco_cmd

LOOP = ("127.0.0.1", 0)


class Sink:
    """A target that records the numbered datagrams it gets, in order, in a thread. ``wait()``
    (called once everything is sent) returns them after ``quiet`` seconds without any."""

    def __init__(self, quiet: float = 0.3) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(("127.0.0.1", 0))
        self.address = self.sock.getsockname()
        self.quiet = quiet
        self.got: list[int] = []
        self._sent = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        self.sock.settimeout(0.05)
        last = time.monotonic()
        try:
            while not (self._sent.is_set() and time.monotonic() - last > self.quiet):
                try:
                    data = self.sock.recv(2048)
                except socket.timeout:
                    continue
                last = time.monotonic()
                # A numbered datagram gives its number, a run of b"x" minus its length; other
                # datagrams (another test's probe on this shared loopback) are not counted.
                if len(data) == 4:
                    self.got.append(struct.unpack("!I", data)[0])
                elif data and data == b"x" * len(data):
                    self.got.append(-len(data))
        finally:
            self.sock.close()

    def wait(self) -> list[int]:
        self._sent.set()
        self._thread.join(30)
        return self.got


def send_numbered(address: tuple[str, int], n: int, gap: float = 0.0) -> None:
    """Sends the numbers 0..n-1 as datagrams, in bursts of 32 (the proxy keeps up)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(n):
            s.sendto(struct.pack("!I", i), address)
            if gap:
                time.sleep(gap)
            elif i % 32 == 31:
                time.sleep(0.0005)


def run_through(n: int = 2000, **options: object) -> tuple[list[int], dict]:  # type: ignore[type-arg]
    """Numbers 0..n-1 sent up through a proxy with ``options``; what the sink got, and the
    proxy's counters once everything left the queue."""
    sink = Sink()
    with udpeco.Proxy(LOOP, sink.address, direction="up", **options) as p:  # type: ignore[arg-type]
        send_numbered(p.address, n)
        got = sink.wait()
        assert wait_until(lambda: p.stats()["queued_bytes"] == 0)
        stats = p.stats()
    return got, stats


def inversions(seq: list[int]) -> int:
    return sum(1 for a, b in zip(seq, seq[1:]) if b < a)


def test_measured_loss_dup_and_reorder_rates_over_2000_datagrams() -> None:
    got, s = run_through(2000, loss=0.2, dup=0.1, reorder=0.1, seed=11)
    up = s["up"]
    assert up["received"] == 2000
    delivered = set(got)
    # Expected: 1600 delivered (sd 18), 160 duplicates (sd 12), ~160 held (sd 12).
    assert 1480 <= len(delivered) <= 1720, len(delivered)
    assert up["dropped"] == 2000 - len(delivered)
    assert 100 <= len(got) - len(delivered) <= 230, len(got) - len(delivered)
    assert up["duplicated"] == len(got) - len(delivered)
    assert len(got) == up["forwarded"]
    assert 100 <= up["reordered"] <= 230, up
    assert inversions(got) >= up["reordered"] > 0
    assert s["down"]["received"] == 0 and s["clients"] == 1


def test_no_options_forwards_everything_in_order() -> None:
    got, s = run_through(1000, seed=1)
    assert got == list(range(1000))
    assert s["up"]["forwarded"] == 1000 and s["up"]["delayed"] == 0


def test_same_seed_same_decisions_and_the_drawn_seed_replays() -> None:
    opts = {"loss": 0.3, "dup": 0.2}
    first, _ = run_through(2000, seed=7, **opts)
    again, _ = run_through(2000, seed=7, **opts)
    other, _ = run_through(2000, seed=8, **opts)
    assert first == again
    assert first != other
    sink = Sink()
    with udpeco.Proxy(LOOP, sink.address, loss=0.3) as p:
        drawn = p.seed
        send_numbered(p.address, 500)
        random_run = sink.wait()
    replay, _ = run_through(500, seed=drawn, loss=0.3)
    assert replay == random_run


def _rtt(address: tuple[str, int], n: int = 15) -> float:
    """Median round trip of ``n`` pings to ``address``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        times = []
        for i in range(n):
            t = time.monotonic()
            s.sendto(b"ping %d" % i, address)
            assert s.recv(64) == b"ping %d" % i
            times.append(time.monotonic() - t)
    return statistics.median(times)


def test_delay_applies_to_each_direction() -> None:
    with EchoThread() as echo:
        direct = _rtt(("127.0.0.1", echo.port))
        with udpeco.Proxy(LOOP, ("127.0.0.1", echo.port), delay=0.04) as p:
            delayed = _rtt(p.address)
            s = p.stats()
    # 40 ms each way: the round trip grows by 80 ms (generous upper bound: loaded machine).
    assert delayed >= 0.08 and delayed - direct < 0.2, (direct, delayed)
    assert s["up"]["delayed"] == s["down"]["delayed"] == 15


def test_jitter_reorders() -> None:
    sink = Sink()
    with udpeco.Proxy(LOOP, sink.address, jitter=0.02, seed=3) as p:
        send_numbered(p.address, 300, gap=0.0005)
        got = sink.wait()
        assert p.stats()["up"]["delayed"] == 300
    assert sorted(got) == list(range(300))
    assert inversions(got) > 10, inversions(got)


def test_each_client_gets_its_own_replies() -> None:
    with EchoThread() as echo, udpeco.Proxy(LOOP, ("127.0.0.1", echo.port)) as p:
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
        for s in socks:
            s.settimeout(2)
        for i in range(5):
            for k, s in enumerate(socks):
                s.sendto(b"client %d msg %d" % (k, i), p.address)
            for k, s in enumerate(socks):
                data, addr = s.recvfrom(64)
                assert (data, addr) == (b"client %d msg %d" % (k, i), p.address)
        for s in socks:
            s.close()
        assert p.stats()["clients"] == 3


def test_the_queue_is_bounded_in_bytes() -> None:
    sink = Sink()
    with udpeco.Proxy(LOOP, sink.address, delay=0.5, queue_bytes=10_000) as p:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ in range(50):
                s.sendto(b"x" * 1000, p.address)
        assert wait_until(lambda: p.stats()["up"]["received"] == 50)
        s1 = p.stats()
        assert s1["up"]["overflow"] == 40 and s1["queued_bytes"] <= 10_000
        assert wait_until(lambda: p.stats()["up"]["forwarded"] == 10)
        assert sink.wait() == [-1000] * 10


def test_close_is_prompt_and_run_releases_the_gil() -> None:
    p = udpeco.Proxy(LOOP, ("127.0.0.1", 9))
    stopper = threading.Timer(0.3, p.stop)
    with other_thread_ticking() as ticks:
        stopper.start()
        t = time.monotonic()
        p.run()  # returns when stop() is called from another thread
        took = time.monotonic() - t
    assert 0.25 < took < 1.5, took
    assert ticks.count > 50
    with udpeco.Proxy(LOOP, ("127.0.0.1", 9)) as q:
        assert q.running
        t = time.monotonic()
        q.close()
        assert time.monotonic() - t < 0.2
        assert q.closed and not q.running
    p.close()


def test_ctrl_c_interrupts_run_within_200_ms() -> None:
    code = (
        "import udpeco\n"
        "p = udpeco.Proxy(('127.0.0.1', 0), ('127.0.0.1', 9))\n"
        "print('ready')\n"
        "try:\n    p.run()\nexcept KeyboardInterrupt:\n    print('interrupted')\n"
    )
    latency, out = sigint_latency(code)
    assert out.startswith("interrupted"), out
    assert latency < 0.2, latency


def test_bad_arguments_are_one_clear_error() -> None:
    with pytest.raises(ValueError, match="loss must be a probability"):
        udpeco.Proxy(LOOP, LOOP, loss=1.5)
    with pytest.raises(ValueError, match=r"delay must be 0 or from 1e-9 to 3.6e3 seconds"):
        udpeco.Proxy(LOOP, LOOP, delay=-1)
    with pytest.raises(ValueError, match="jitter must be 0 or from"):
        udpeco.Proxy(LOOP, LOOP, jitter=3601)
    with pytest.raises(ValueError, match="direction"):
        udpeco.Proxy(LOOP, LOOP, direction="sideways")
    with pytest.raises(socket.gaierror, match="cannot resolve 'no-such-host.invalid'"):
        udpeco.Proxy(LOOP, "no-such-host.invalid:9")
    with pytest.raises(TypeError):
        udpeco.Proxy(LOOP, 1.5)  # type: ignore[arg-type]


# ---- the command line ------------------------------------------------------------------


def _start_cli(*args: str) -> tuple[subprocess.Popen[bytes], tuple[str, int]]:
    p = subprocess.Popen(
        udpeco_cmd("proxy", "127.0.0.1:0", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert p.stderr is not None
    line = p.stderr.readline().decode()
    assert line.startswith("udpeco proxy: 127.0.0.1:"), line
    port = int(line.split()[2].rsplit(":", 1)[1])
    return p, ("127.0.0.1", port)


@pytest.mark.parametrize("signals", [[signal.SIGTERM], [signal.SIGINT, signal.SIGTERM]])
def test_cli_stops_on_signals_within_200_ms_with_json_counters(signals: list[int]) -> None:
    with EchoThread() as echo:
        p, address = _start_cli(f"127.0.0.1:{echo.port}", "--loss", "0%", "--seed", "5", "--json")
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(3)
                s.sendto(b"hola", address)
                assert s.recv(64) == b"hola"
            t = time.monotonic()
            for sig in signals:
                p.send_signal(sig)
            assert p.stdout is not None
            first = p.stdout.readline()  # the counters, printed once the proxy stopped
            took = time.monotonic() - t
            out, err = p.communicate(timeout=10)
            out = first + out
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert took < 0.2 + 0.3, took  # 200 ms, with a margin for the loaded machine
    assert p.returncode == (130 if signal.SIGINT in signals else 143)
    assert b"Traceback" not in err, err
    stats = json.loads(out)
    assert stats["seed"] == 5 and stats["clients"] == 1
    assert stats["up"]["forwarded"] == stats["down"]["forwarded"] == 1


def test_cli_prints_counters_and_rejects_bad_values_in_one_line() -> None:
    with silent_peer() as peer:
        p, address = _start_cli("{}:{}".format(*peer.getsockname()), "--dup", "100%")
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(b"x", address)
            peer.settimeout(3)
            copies = 0
            while copies < 2:
                copies += peer.recv(64) == b"x"
            p.send_signal(signal.SIGINT)
            _, err = p.communicate(timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    text = err.decode()
    assert "up   received 1  forwarded 2  dropped 0  duplicated 1" in text, text
    for bad, flag in (
        (["--loss", "2"], "--loss"),
        (["--delay", "1e308"], "--delay"),
        (["--seed", "-1"], "--seed"),
        (["--queue-bytes", "0"], "--queue-bytes"),
    ):
        r = subprocess.run(
            udpeco_cmd("proxy", "0", "127.0.0.1:9", *bad), capture_output=True, timeout=20
        )
        assert r.returncode == 2, bad
        assert r.stderr.count(b"\n") == 1 and flag.encode() in r.stderr, r.stderr
    for target in ("::1:9", "no-such-host.invalid:9", "\udcff:9"):
        r = subprocess.run(udpeco_cmd("proxy", "0", target), capture_output=True, timeout=20)
        assert r.returncode in (1, 2), target
        assert r.stderr.count(b"\n") == 1 and b"Traceback" not in r.stderr, r.stderr


def test_reproducible_counts_match_a_fixed_seed() -> None:
    """The decisions for a seed do not change between builds (SplitMix64, not rand's)."""
    got, s = run_through(200, loss=0.5, seed=12345)
    assert Counter(got) == Counter(run_through(200, loss=0.5, seed=12345)[0])
    assert s["up"]["dropped"] + s["up"]["forwarded"] == 200
