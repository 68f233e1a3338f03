"""udpeco.EchoServer: the echo engine from Python (foreground, background, counters, options)."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import udpeco
from echo_helpers import LOOP, ask, client, read_line
from udpeco import EchoServer


def test_echoes_counts_and_truncates_like_recvfrom_1024() -> None:
    with EchoServer(port=0, host=LOOP, quiet=True) as srv:
        (port,) = srv.ports
        assert port > 0
        a, b = client(), client()
        assert ask(a, port, b"hola") == b"hola"
        assert ask(b, port, b"") == b""
        assert ask(a, port, b"x" * 3000) == b"x" * 1024
        stats = srv.stats
        assert {k: stats[k] for k in ("datagrams", "bytes", "clients", "drops")} == {
            "datagrams": 3,
            "bytes": 4 + 0 + 1024,
            "clients": 2,
            "drops": 0,
        }
        assert set(stats) >= {"self", "port0", "reflector_port", "rate_limited", "unprinted"}
        assert sum(stats.values()) == 3 + 4 + 1024 + 2, "nothing dropped by the guard"
        assert srv.running
    assert not srv.running
    assert "EchoServer" in repr(srv)


def test_leaving_with_releases_the_port_and_keeps_the_counters() -> None:
    with EchoServer(port=0, host=LOOP, quiet=True) as srv:
        (port,) = srv.ports
        assert ask(client(), port, b"hola") == b"hola"
    assert srv.closed
    assert srv.stats["datagrams"] == 1
    assert srv.ports == [port]
    # The port is free again at once, without waiting for garbage collection.
    again = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    again.bind((LOOP, port))
    again.close()
    with pytest.raises(OSError) as err:
        srv.start()
    assert err.value.errno == 9
    srv.close()  # closing twice is allowed


def test_foreground_run_stops_on_the_sentinel_without_echoing_it() -> None:
    srv = EchoServer(port=0, host=LOOP, quiet=True, bufsize=16)
    port = srv.ports[0]
    c = client(timeout=0.3)

    def talk() -> None:
        assert ask(c, port, b"abc") == b"abc"
        c.sendto(b" .\n", (LOOP, port))

    t = threading.Thread(target=talk)
    t.start()
    stats = srv.run()
    t.join()
    assert stats["datagrams"] == 2 and stats["clients"] == 1
    with pytest.raises(socket.timeout):
        c.recvfrom(100)


def test_stop_options_reply_stop_and_custom_sentinel() -> None:
    srv = EchoServer(port=0, host=LOOP, quiet=True, reply_stop=True)
    c = client()
    c.sendto(b".\n", (LOOP, srv.ports[0]))
    srv.run()
    assert c.recvfrom(10)[0] == b".", "exercise 4: the server answers '.'"

    with EchoServer(port=0, host=LOOP, quiet=True, stop=None) as srv:
        assert ask(c, srv.ports[0], b".") == b"."
        assert srv.running
    srv = EchoServer(port=0, host=LOOP, quiet=True, stop="fin")
    srv.start()
    assert ask(c, srv.ports[0], b".") == b".", "'.' is plain data when the sentinel is 'fin'"
    c.sendto(b"fin\r\n", (LOOP, srv.ports[0]))
    deadline = time.monotonic() + 2
    while srv.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not srv.running
    srv.stop()


def test_bad_arguments_raise_the_stdlib_exceptions() -> None:
    with pytest.raises(OverflowError):
        EchoServer(port=70000)
    with pytest.raises(ValueError, match="reply_stop"):
        EchoServer(port=0, stop=None, reply_stop=True)
    with pytest.raises(ValueError, match="invalid port specification"):
        EchoServer(ports="20100-20000")
    with pytest.raises(ValueError):
        EchoServer(port=0, bufsize=0)
    with pytest.raises(ValueError):
        EchoServer(port=0, delay=-1)
    with pytest.raises(TypeError):
        EchoServer(port=0, stop=5)  # type: ignore[arg-type]
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind((LOOP, 0))
    with pytest.raises(OSError) as e:
        EchoServer(port=taken.getsockname()[1], host=LOOP)
    assert e.value.errno == 98
    with pytest.raises(socket.gaierror):
        EchoServer(port=0, host="no-such-host.invalid")


def test_ports_spec_and_list_reply_from_the_receiving_socket() -> None:
    c = client()
    with EchoServer(ports=[0, 0, 0], host=LOOP, quiet=True) as srv:
        assert len(set(srv.ports)) == 3
        for p in srv.ports:
            assert ask(c, p, str(p).encode()) == str(p).encode()
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind((LOOP, 0))
    free = probe.getsockname()[1]
    probe.close()
    with EchoServer(ports=f"{free},{free}", host=LOOP, quiet=True) as srv:
        assert srv.ports == [free], "a spec string, duplicates dropped"
        assert ask(c, free, b"spec") == b"spec"


def test_ten_thousand_ports_in_one_process_with_modest_memory() -> None:
    def rss_kib() -> int:
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    before = rss_kib()
    srv = EchoServer(ports=[0] * 10_000, host=LOOP, quiet=True)
    with srv:
        ports = srv.ports
        assert len(set(ports)) == 10_000
        c = client()
        for p in [ports[0], ports[-1], *random.sample(ports, 20)]:
            assert ask(c, p, b"v3") == b"v3"
        grown = rss_kib() - before
    print(f"RSS grew by {grown} KiB for 10,000 ports")
    assert grown < 64 * 1024, grown
    assert srv.stats["datagrams"] == 22


def test_workers_share_ports_with_so_reuseport() -> None:
    with EchoServer(ports=[0, 0], host=LOOP, quiet=True, workers=2) as srv:
        clients = [client() for _ in range(8)]
        for c in clients:
            for p in srv.ports:
                assert ask(c, p, b"w") == b"w"
        assert srv.stats["clients"] == 8 and srv.stats["datagrams"] == 16


def test_delay_is_the_practicas_3_s_without_blocking_other_clients() -> None:
    with EchoServer(ports=[0, 0], host=LOOP, quiet=True, delay=3.0) as srv:
        a, b = client(timeout=5), client(timeout=5)
        t = time.monotonic()
        for i in range(3):
            a.sendto(b"a%d" % i, (LOOP, srv.ports[0]))
        b.sendto(b"b", (LOOP, srv.ports[1]))
        got = [a.recvfrom(10)[0] for _ in range(3)]
        reply, addr = b.recvfrom(10)
        elapsed = time.monotonic() - t
    assert got == [b"a0", b"a1", b"a2"], "replies in the order received"
    assert (reply, addr[1]) == (b"b", srv.ports[1])
    assert 3.0 <= elapsed < 4.0, "every reply 3 s after its datagram; none waits for the others"


def test_idle_timeout_ends_run_and_the_log_keeps_a_20000_datagram_burst(tmp_path) -> None:
    log = tmp_path / "mensajes.txt"
    # One sender at full speed: beyond the default per-source rate limit, so it is off.
    srv = EchoServer(port=0, host=LOOP, quiet=True, idle_timeout=0.5, log=log, rate_limit=0)
    port = srv.ports[0]
    c = client()

    def burst() -> None:
        for i in range(20_000):
            c.sendto(b"m%d\n" % i, (LOOP, port))
        c.sendto("ñandú €\n".encode(), (LOOP, port))
        c.sendto(b"\xff\xfe bytes\n", (LOOP, port))

    t = threading.Thread(target=burst)
    start = time.monotonic()
    t.start()
    stats = srv.run()
    t.join()
    assert time.monotonic() - start >= 0.5
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 20_002 and stats["datagrams"] == 20_002 and stats["drops"] == 0
    assert lines[0] == "m0" and lines[19_999] == "m19999"
    assert lines[20_000] == "ñandú €"
    assert lines[20_001] == "\\xff\\xfe bytes", "non-UTF-8 bytes as Python's backslashreplace"


def test_random_port_is_in_the_range_and_serves() -> None:
    # The práctica's 20000-20100 shifted above the ephemeral range, so that a scanner test
    # running at the same time never meets this server.
    lo = random.randrange(61000, 65000, 100)
    with EchoServer(random_port=(lo, lo + 100), host=LOOP, quiet=True) as srv:
        (port,) = srv.ports
        assert lo <= port <= lo + 100
        assert ask(client(), port, b"final1") == b"final1"


def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        srv = EchoServer(port=0, host="::1", quiet=True)
    except OSError:
        pytest.skip("no IPv6 loopback")
    with srv:
        c = client(socket.AF_INET6)
        assert ask(c, srv.ports[0], b"seis", host="::1") == b"seis"


def test_never_dies_on_any_datagram() -> None:
    with EchoServer(port=0, host=LOOP, quiet=False) as srv:
        c = client()
        for data in [b"", b"\x00" * 10, b"\xff" * 500, bytes(range(256)), b"x" * 65507]:
            assert ask(c, srv.ports[0], data) == data[:1024]
        assert srv.running


def test_stop_from_another_thread_ends_a_foreground_run() -> None:
    srv = EchoServer(port=0, host=LOOP, quiet=True)
    threading.Timer(0.2, srv.stop).start()
    t = time.monotonic()
    stats = srv.run()
    assert time.monotonic() - t < 1.5
    assert stats["datagrams"] == 0


@pytest.mark.parametrize(
    "options",
    ["port=0", "ports=[0, 0]", "port=0, workers=2", "port=0, delay=1.0", "port=0, log=LOG"],
)
def test_ctrl_c_interrupts_the_foreground_run_within_200_ms(options: str, tmp_path) -> None:
    code = textwrap.dedent(
        f"""
        import socket, sys, threading, time, udpeco
        LOG = sys.argv[1]
        srv = udpeco.EchoServer({options}, host="127.0.0.1", quiet=True)
        def traffic():
            c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            while True:
                c.sendto(b"busy", ("127.0.0.1", srv.ports[0]))
                time.sleep(0.001)
        threading.Thread(target=traffic, daemon=True).start()
        print("ready", flush=True)
        try:
            srv.run()
        except KeyboardInterrupt:
            print(time.monotonic(), flush=True)
            sys.exit(7)
        """
    )
    log = tmp_path / "log.txt"
    child = subprocess.Popen([sys.executable, "-c", code, str(log)], stdout=subprocess.PIPE)
    try:
        assert read_line(child.stdout) == b"ready\n"
        time.sleep(0.3)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        caught = float(read_line(child.stdout))
        assert child.wait(timeout=5) == 7
    finally:
        child.kill()
        child.wait()
    assert caught - sent < 0.2, f"KeyboardInterrupt after {caught - sent:.3f} s"
    if "log" in options:
        lines = log.read_text().splitlines()
        assert len(lines) > 10 and set(lines) == {"busy"}, "the log is flushed on Ctrl+C"


def test_module_exports() -> None:
    assert udpeco.EchoServer is EchoServer
    assert "EchoServer" in udpeco.__all__
