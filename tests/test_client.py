"""udpeco.Client and ``udpeco client``: the práctica's timed echo client."""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import subprocess
import threading
import time
from typing import Callable

import pytest
import udpeco
from gil_probe import other_thread_ticking
from load_helpers import (
    EchoThread,
    closed_port,
    process,
    sigint_latency,
    silent_peer,
    udpeco_cmd,
)
from udpeco.compare.harness import free_ports


def test_request_returns_the_echo_and_closes() -> None:
    with EchoThread() as echo:
        with udpeco.Client("127.0.0.1", echo.port, timeout=2.0) as c:
            assert c.request(b"hola") == b"hola"
            assert c.request(b"") == b""
            assert c.peer == ("127.0.0.1", echo.port)
            assert c.timeout == 2.0 and c.retries == 0 and not c.closed
            assert "127.0.0.1" in repr(c)
        assert c.closed
        with pytest.raises(OSError) as e:
            c.request(b"x")
        assert e.value.errno == 9


def test_timeout_is_the_practicas_five_seconds() -> None:
    """cliente_eco v3: settimeout(5.0); no answer -> socket.timeout after 5 s."""
    with silent_peer() as peer:
        c = udpeco.Client("127.0.0.1", peer.getsockname()[1])
        assert c.timeout == 5.0
        t = time.monotonic()
        with pytest.raises(socket.timeout) as e:
            c.request(b"hola")
        took = time.monotonic() - t
        assert e.value.errno is None and str(e.value) == "timed out"
        assert 5.0 <= took < 6.0, took


def test_exercise_10_short_timeout_against_a_slow_server() -> None:
    """Exercise 10: a server sleeping before its echo; X=1 gives up, a longer X gets it."""
    with EchoThread(delay=1.5) as slow:
        c = udpeco.Client("127.0.0.1", slow.port, timeout=1)
        t = time.monotonic()
        with pytest.raises(socket.timeout):
            c.request(b"hola")
        assert 1.0 <= time.monotonic() - t < 1.5  # the echo comes at 1.5 s
    with EchoThread(delay=0.3) as slow:
        assert udpeco.Client("127.0.0.1", slow.port, timeout=0.6).request(b"x") == b"x"


def test_retries_resend_and_each_try_waits_the_timeout() -> None:
    with silent_peer() as peer:
        peer.settimeout(0.5)
        c = udpeco.Client("127.0.0.1", peer.getsockname()[1], timeout=0.15, retries=2)
        t = time.monotonic()
        with pytest.raises(socket.timeout):
            c.request(b"again")
        took = time.monotonic() - t
        assert 0.45 <= took < 1.0, took
        assert [peer.recv(100) for _ in range(3)] == [b"again"] * 3


def test_datagrams_from_other_sources_are_ignored() -> None:
    with silent_peer() as peer:
        c = udpeco.Client("127.0.0.1", peer.getsockname()[1], timeout=0.3)
        # The client's own port, learned from the datagram it sends.
        peer.settimeout(1)
        intruder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

        def spoof() -> None:
            _, client_addr = peer.recvfrom(100)
            intruder.sendto(b"not the server", client_addr)

        t = threading.Thread(target=spoof)
        t.start()
        with pytest.raises(socket.timeout):
            c.request(b"x")
        t.join()
        intruder.close()


def test_closed_port_is_connection_refused_at_once() -> None:
    c = udpeco.Client("127.0.0.1", closed_port(), timeout=3)
    t = time.monotonic()
    with pytest.raises(ConnectionRefusedError):
        c.request(b"x")
    assert time.monotonic() - t < 1


def test_argument_errors_are_the_stdlibs() -> None:
    with pytest.raises(OverflowError):
        udpeco.Client("127.0.0.1", 70000)
    with pytest.raises(ValueError):
        udpeco.Client("127.0.0.1", 9, timeout=-1)
    with pytest.raises(socket.gaierror):
        udpeco.Client("no-such-host.invalid", 9)
    with pytest.raises(TypeError):
        udpeco.Client("127.0.0.1", 9).request("text")  # type: ignore[arg-type]


def test_request_releases_the_gil() -> None:
    with silent_peer() as peer, other_thread_ticking() as ticks:
        with pytest.raises(socket.timeout):
            udpeco.Client("127.0.0.1", peer.getsockname()[1], timeout=0.3).request(b"x")
    assert ticks.count > 50, ticks.count


def test_ctrl_c_interrupts_a_request_within_200_ms() -> None:
    with silent_peer() as peer:
        code = (
            "import udpeco\n"
            f"c = udpeco.Client('127.0.0.1', {peer.getsockname()[1]}, timeout=None)\n"
            "print('ready')\n"
            "try:\n    c.request(b'x')\nexcept KeyboardInterrupt:\n    print('interrupted')\n"
        )
        latency, out = sigint_latency(code)
    assert out.startswith("interrupted"), out
    assert latency < 0.2, latency


# ---- the command line ------------------------------------------------------------------


def test_cli_piped_lines_get_replies_without_prompts() -> None:
    with EchoThread() as echo:
        r = subprocess.run(
            udpeco_cmd("client", "127.0.0.1", str(echo.port), "--timeout", "2"),
            input=b"hola\n\nadios mundo\n",
            capture_output=True,
            timeout=20,
        )
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [
        "Server reply : hola",
        "Server reply : ",
        "Server reply : adios mundo",
    ]
    assert r.stderr == b""


def test_cli_with_socat_as_the_server() -> None:
    (port,) = free_ports(1)
    with process(["socat", f"UDP-LISTEN:{port},bind=127.0.0.1,reuseaddr", "PIPE"], port):
        r = subprocess.run(
            udpeco_cmd("client", "127.0.0.1", str(port), "--timeout", "2"),
            input=b"eco\n",
            capture_output=True,
            timeout=20,
        )
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"Server reply : eco\n"


def test_cli_no_reply_exits_1_with_one_line() -> None:
    with silent_peer() as peer:
        port = peer.getsockname()[1]
        t = time.monotonic()
        r = subprocess.run(
            udpeco_cmd("client", "127.0.0.1", str(port), "--timeout", "0.3", "--retries", "1"),
            input=b"hola\n",
            capture_output=True,
            timeout=20,
        )
        assert time.monotonic() - t >= 0.6
    assert r.returncode == 1
    assert r.stdout == b""
    assert (
        r.stderr.decode()
        == f"udpeco client: error: no reply from 127.0.0.1:{port} within 0.3 s (2 tries)\n"
    )


def test_cli_closed_port_and_bad_arguments() -> None:
    r = subprocess.run(
        udpeco_cmd("client", "127.0.0.1", str(closed_port())),
        input=b"x\n",
        capture_output=True,
        timeout=20,
    )
    assert r.returncode == 1
    assert r.stderr.count(b"\n") == 1 and b"refused" in r.stderr
    for bad in (["127.0.0.1", "70000"], ["127.0.0.1", "9", "--timeout", "-1"], ["127.0.0.1"]):
        r = subprocess.run(udpeco_cmd("client", *bad), capture_output=True, timeout=20)
        assert r.returncode == 2, bad
        assert r.stderr.count(b"\n") == 1 and b"Traceback" not in r.stderr, r.stderr


def _read_until(fd: int, seen: bytes, done: Callable[[bytes], bool]) -> bytes:
    """Reads the pty into ``seen`` until ``done(seen)``; at most 10 s."""
    end = time.monotonic() + 10
    while not done(seen):
        left = end - time.monotonic()
        assert left > 0, f"timed out; output so far: {seen!r}"
        if select.select([fd], [], [], left)[0]:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_cli_interactive_prompt_on_a_terminal() -> None:
    prompt = b"Enter message to send : "
    with EchoThread() as echo:
        pid, fd = pty.fork()
        if pid == 0:  # The child: udpeco client on the pty.
            cmd = udpeco_cmd("client", "127.0.0.1", str(echo.port), "--timeout", "2")
            os.execv(cmd[0], cmd)
        try:
            out = _read_until(fd, b"", lambda o: prompt in o)
            os.write(fd, b"hola\n")
            out = _read_until(fd, out, lambda o: o.count(prompt) == 2)
            assert b"Server reply : hola\r\n" + prompt in out
            os.write(fd, b"\x04")  # Ctrl+D: end of input.
            _, status = os.waitpid(pid, 0)
            pid = 0
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        finally:
            os.close(fd)
            if pid:  # Still ours and not reaped: end it.
                os.kill(pid, 9)
                os.waitpid(pid, 0)


def test_ipv6_server() -> None:
    server = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    server.bind(("::1", 0))
    server.settimeout(2)

    def echo_one() -> None:
        data, addr = server.recvfrom(100)
        server.sendto(data, addr)

    t = threading.Thread(target=echo_one)
    t.start()
    try:
        c = udpeco.Client("::1", server.getsockname()[1], timeout=2)
        assert c.peer == ("::1", server.getsockname()[1])
        assert c.request(b"seis") == b"seis"
    finally:
        t.join()
        server.close()


def test_cli_ends_when_the_server_replies_a_dot() -> None:
    """Exercise 4: the client stops when the server sends '.'."""
    with EchoThread() as echo:
        r = subprocess.run(
            udpeco_cmd("client", "127.0.0.1", str(echo.port), "--timeout", "2"),
            input=b"a\n.\nnot sent\n",
            capture_output=True,
            timeout=20,
        )
        assert echo.received == 2
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"Server reply : a\nServer reply : .\n"


# ---- never an earlier request's reply (issue 10) ---------------------------------------


def test_no_stale_reply_in_300_requests_with_jitter_up_to_twice_the_timeout() -> None:
    """Replies come 0-100 ms late (two 0-50 ms jitters through udpeco.Proxy), reordered, for
    a 50 ms timeout with retries: every request must return its own echo. (Before: an earlier
    request's reply 256 times in 300, at 0-450 ms jitter and a 0.2 s timeout.)"""
    results: list[bool] = []
    stale: list[int] = []
    with (
        EchoThread() as echo,
        udpeco.Proxy(("127.0.0.1", 0), ("127.0.0.1", echo.port), jitter=0.05, seed=10) as proxy,
    ):

        def worker(k: int) -> None:
            with udpeco.Client(*proxy.address, timeout=0.05, retries=100) as c:
                for i in range(50):
                    msg = b"client %d request %d" % (k, i)
                    results.append(c.request(msg) == msg)
                stale.append(c.stale)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert len(results) == 300 and all(results), results.count(False)
    assert sum(stale) > 0, "late replies must have reached the clients"


def test_identical_requests_with_late_echoes_each_get_their_own() -> None:
    """Identical payloads cannot be told apart by their bytes: a request whose payload may
    still have an echo in flight goes out from a new source port. Through a 120 ms round trip
    with an 80 ms timeout, each request's second try gets the first try's echo and leaves the
    second echo in flight; an earlier echo would answer the next request after ~80 ms."""
    with (
        EchoThread() as echo,
        udpeco.Proxy(("127.0.0.1", 0), ("127.0.0.1", echo.port), delay=0.06) as proxy,
    ):
        c = udpeco.Client(*proxy.address, timeout=0.08, retries=5)
        for _ in range(8):
            t = time.monotonic()
            assert c.request(b"same") == b"same"
            assert time.monotonic() - t >= 0.119  # its own echo: never before the round trip


def test_a_non_echo_server_with_echo_false() -> None:
    """``echo=False``: any reply from the server counts (a server that does not echo)."""
    with silent_peer() as server:
        c = udpeco.Client(*server.getsockname(), timeout=2.0, echo=False)
        assert not c.echo

        def answer() -> None:
            server.settimeout(3)
            _, addr = server.recvfrom(64)
            server.sendto(b"not the same bytes", addr)

        t = threading.Thread(target=answer)
        t.start()
        assert c.request(b"question") == b"not the same bytes"
        t.join()


def test_cli_prints_the_right_reply_on_every_line_with_jitter() -> None:
    lines = [f"line {i}" for i in range(60)]
    with (
        EchoThread() as echo,
        udpeco.Proxy(("127.0.0.1", 0), ("127.0.0.1", echo.port), jitter=0.05, seed=4) as proxy,
    ):
        host, port = proxy.address
        r = subprocess.run(
            udpeco_cmd("client", host, str(port), "--timeout", "0.05", "--retries", "100"),
            input="".join(line + "\n" for line in lines).encode(),
            capture_output=True,
            timeout=60,
        )
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [f"Server reply : {line}" for line in lines]


def test_cli_messages_name_the_flag_and_the_real_limit() -> None:
    r = subprocess.run(
        udpeco_cmd("client", "127.0.0.1", "9", "--timeout", "1e308"),
        capture_output=True,
        timeout=20,
    )
    assert r.returncode == 2
    low, high = udpeco._udpeco.LIMITS["seconds"]
    assert high == udpeco._udpeco.LIMITS["seconds"][1]
    assert r.stderr.decode() == (
        "udpeco client: error: argument --timeout: invalid number of seconds '1e308': "
        f"must be from {low:g} to {high:g}\n"
    )
    r = subprocess.run(udpeco_cmd("client", "\udcff", "9"), capture_output=True, timeout=20)
    assert r.returncode == 2
    assert r.stderr == (
        b"udpeco client: error: argument host: invalid host name '\\xff': not valid UTF-8 text\n"
    )


def test_cli_json_lines_one_per_request_then_a_summary() -> None:
    import json

    with EchoThread() as echo:
        ok = subprocess.run(
            udpeco_cmd("client", "127.0.0.1", str(echo.port), "--json"),
            input=b"hola\n\xff\n",
            capture_output=True,
            timeout=20,
        )
    assert ok.returncode == 0 and ok.stderr == b"", ok.stderr
    first, second, last = map(json.loads, ok.stdout.decode().splitlines())
    assert set(first) == {"payload", "reply", "rtt", "error"}
    assert (first["payload"], first["reply"], first["error"]) == ("hola", "hola", None)
    assert 0 < first["rtt"] < 5
    assert (second["payload"], second["reply"]) == ("\\xff", "\\xff")  # escaped as text
    assert last == {
        "summary": {
            "server": f"127.0.0.1:{echo.port}",
            "requests": 2,
            "replies": 2,
            "timeouts": 0,
            "errors": 0,
            "stale": 0,
        }
    }
    with silent_peer() as peer:
        port = peer.getsockname()[1]
        lost = subprocess.run(
            udpeco_cmd("client", "127.0.0.1", str(port), "--timeout", "0.2", "--json"),
            input=b"uno\ndos\n",
            capture_output=True,
            timeout=20,
        )
    assert lost.returncode == 1
    assert lost.stderr.decode().startswith("udpeco client: error: no reply from")
    request, summary = map(json.loads, lost.stdout.decode().splitlines())
    assert request == {"payload": "uno", "reply": None, "rtt": None, "error": "timeout"}
    assert summary["summary"]["requests"] == summary["summary"]["timeouts"] == 1


def test_cli_json_summary_after_ctrl_c() -> None:
    import json

    with silent_peer() as peer:
        port = peer.getsockname()[1]
        with process(
            udpeco_cmd("client", "127.0.0.1", str(port), "--json", "--timeout", "60"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as p:
            assert p.stdin is not None
            p.stdin.write(b"uno\n")
            p.stdin.flush()
            peer.settimeout(20)
            assert peer.recvfrom(100)[0] == b"uno"  # the request is out, waiting for a reply
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=10)
    assert p.returncode == 130, err
    assert json.loads(out)["summary"]["requests"] == 0  # the interrupted one never ended
