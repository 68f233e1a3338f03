"""``udpeco serve``: the echo server command with real peers (ncat, socat, OpenBSD nc)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from echo_helpers import LOOP, ask, client, finish, read_line, start_serve

PEERS = {
    "ncat": ["ncat", "-u", "{host}", "{port}"],
    "socat": ["socat", "-", "UDP:{host}:{port}"],
    "nc.openbsd": ["nc.openbsd", "-u", "{host}", "{port}"],
}


@pytest.mark.parametrize("peer", sorted(PEERS))
def test_real_peers_exchange_datagrams(peer: str) -> None:
    if shutil.which(peer) is None:
        pytest.skip(f"{peer} is not installed (scripts/test.sh installs it)")
    proc, port = start_serve()
    cmd = [a.format(host=LOOP, port=port) for a in PEERS[peer]]
    tool = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert tool.stdin is not None and tool.stdout is not None
    try:
        for text in (b"hola servidor\n", "¿qué tal?\n".encode()):
            tool.stdin.write(text)
            tool.stdin.flush()
            assert read_line(tool.stdout, 5) == text
    finally:
        tool.kill()
        tool.wait()
    code, out, err = finish(proc)
    lines = out.splitlines()
    assert len(lines) == 2 and lines[1].endswith("] - ¿qué tal?")
    assert lines[0].startswith("Message[127.0.0.1:") and lines[0].endswith("] - hola servidor")
    assert code == 130
    assert "2 datagrams" in err and "1 clients" in err


def test_dot_stops_the_server_like_v1_and_quiet_prints_nothing() -> None:
    proc, port = start_serve("--quiet", module=False)
    c = client()
    assert ask(c, port, b"uno\n") == b"uno\n"
    c.sendto(b".\n", (LOOP, port))
    code, out, err = finish(proc, sig=None)
    assert (code, out) == (0, "")
    assert "2 datagrams, 6 bytes, 1 clients, 0 drops" in err


def test_ctrl_c_stops_it_when_started_with_sigint_ignored() -> None:
    """`udpeco serve &` from a script inherits SIGINT ignored; `kill -INT` must still stop it."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proc, _ = start_serve("--quiet")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert finish(proc)[0] == 130


def test_reply_stop_no_stop_custom_stop_and_bufsize() -> None:
    proc, port = start_serve("--reply-stop", "--stop", "fin", "--bufsize", "4")
    c = client()
    assert ask(c, port, b".") == b"."
    assert ask(c, port, b"abcdefgh") == b"abcd"
    assert ask(c, port, b"fin\n") == b"fin", "exercise 4: the stop text is answered"
    code, out, _ = finish(proc, sig=None)
    assert code == 0 and out.splitlines()[-1].endswith("] - abcd")
    proc, port = start_serve("--no-stop", "--quiet")
    assert ask(c, port, b".\n") == b".\n"
    assert proc.poll() is None
    assert finish(proc)[0] == 130


def test_several_ports_ranges_and_replies_from_the_receiving_socket() -> None:
    probe = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    for p in probe:
        p.bind((LOOP, 0))
    a, b = (p.getsockname()[1] for p in probe)
    for p in probe:
        p.close()
    proc, _ = start_serve("--port", str(a), "--port", f"{b}-{b}", "--quiet", "--workers", "2")
    c = client()
    assert ask(c, a, b"a") == b"a"
    assert ask(c, b, b"b") == b"b"
    assert finish(proc, signal.SIGTERM)[0] == 143


def test_random_port_is_printed_and_serves() -> None:
    lo = random.randrange(61000, 65000, 100)  # the práctica's range, away from scanner tests
    proc, port = start_serve("--random-port", f"{lo}-{lo + 100}", "--quiet")
    assert lo <= port <= lo + 100
    assert read_line(proc.stdout) == f"Listening on port {port}\n".encode()
    assert ask(client(), port, b"final 1") == b"final 1"
    finish(proc)


def test_v3_silence_and_final_2_idle_timeout_with_the_practicas_5_s(tmp_path) -> None:
    # Both timed behaviours with the práctica's 5 s, run side by side to keep the file fast.
    log = tmp_path / "mensajes.txt"
    t = time.monotonic()
    v3, _ = start_serve("--silence", "5", "--idle-timeout", "5.6")
    final2, port = start_serve("--log", str(log), "--idle-timeout", "5", "--quiet")
    c = client()
    time.sleep(0.5)
    for text in (b"primero\n", b"segundo\n"):
        assert ask(c, port, text) == text
    last = time.monotonic()
    code2, _, err2 = finish(final2, sig=None)
    ended2 = time.monotonic()
    code, out, _ = finish(v3, sig=None)
    elapsed = time.monotonic() - t
    assert code == 0 and 5.6 <= elapsed < 7.0
    assert out == "Han pasado 5 seg sin recibir nada por ningun socket.\n\n"
    assert code2 == 0 and 5.0 <= ended2 - last < 6.0, "final 2: ends after 5 s of silence"
    assert log.read_text(encoding="utf-8") == "primero\nsegundo\n"
    assert "2 datagrams" in err2


def test_sigterm_flushes_the_log(tmp_path) -> None:
    log = tmp_path / "mensajes.txt"
    proc, port = start_serve("--log", str(log), "--quiet", "--no-stop")
    c = client()
    for i in range(200):
        assert ask(c, port, b"linea %d\n" % i) == b"linea %d\n" % i
    c.sendto(b"\xe9t\xe9\n", (LOOP, port))
    c.recvfrom(100)
    code, _, err = finish(proc, signal.SIGTERM)
    assert code == 143 and "201 datagrams" in err
    lines = log.read_bytes().decode("utf-8").splitlines()
    assert lines[:2] == ["linea 0", "linea 1"] and len(lines) == 201
    assert lines[-1] == "\\xe9t\\xe9"


def test_kernel_drops_are_counted() -> None:
    proc, port = start_serve("--quiet", "--no-stop")
    c = client()
    assert ask(c, port, b"ping") == b"ping"
    c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        payload = b"z" * 60000
        for _ in range(1000):
            c.sendto(payload, (LOOP, port))
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    time.sleep(0.5)
    _, _, err = finish(proc)
    stats = err.strip().splitlines()[-1]
    received = int(stats.split("serve: ")[1].split(" datagrams")[0])
    drops = int(stats.split("clients, ")[1].split(" drops")[0])
    assert drops > 0, stats
    assert received + drops == 1001, stats


def test_ipv6_bind() -> None:
    try:
        proc, port = start_serve("--bind", "::1", "--quiet")
    except AssertionError:
        pytest.skip("no IPv6 loopback")
    c = client(socket.AF_INET6)
    assert ask(c, port, b"v6", host="::1") == b"v6"
    finish(proc)


@pytest.mark.parametrize(
    "args",
    [
        ["--port", "70000"],
        ["--port", "20100-20000"],
        ["--port", "abc"],
        ["--random-port", "5"],
        ["--bufsize", "0"],
        ["--bufsize", "70000"],
        ["--delay", "-1"],
        ["--idle-timeout", "0"],
        ["--silence", "x"],
        ["--workers", "0"],
        ["--no-stop", "--reply-stop"],
        ["--stop", "x", "--no-stop"],
        ["--frobnicate"],
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(args: list[str]) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "udpeco", "serve", *args],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert r.returncode == 2, r
    assert r.stderr.count("\n") == 1 and "error" in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_port_in_use_is_one_line_and_exit_1() -> None:
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    r = subprocess.run(
        ["udpeco", "serve", "--bind", "127.0.0.1", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert r.returncode == 1
    assert (
        r.stderr == f"udpeco serve: error: cannot listen on 127.0.0.1:{port}: "
        "[Errno 98] Address already in use\n"
    )


def test_privileged_port_is_errno_13_for_a_normal_user() -> None:
    start = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start")
    if start.exists() and int(start.read_text()) <= 7:
        pytest.skip("this system lets anyone bind port 7")
    cmd = [sys.executable, "-m", "udpeco", "serve", "--bind", "127.0.0.1", "--port", "7"]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv")
        # Still root (so the installed package stays importable), but without the capability
        # that lets root bind ports below 1024: what a normal user gets.
        drop = ["--bounding-set", "-net_bind_service", "--inh-caps", "-net_bind_service"]
        cmd = ["setpriv", *drop, *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    assert r.returncode == 1, r
    assert (
        r.stderr
        == "udpeco serve: error: cannot listen on 127.0.0.1:7: [Errno 13] Permission denied\n"
    )


def test_defaults_are_the_practicas_v1_server() -> None:
    from udpeco.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.port is None and args.bind == "" and args.bufsize is None
    assert args.stop == "." and not args.no_stop and not args.quiet and args.workers == 1
    r = subprocess.run(
        [sys.executable, "-m", "udpeco", "serve", "--help"], capture_output=True, text=True
    )
    assert r.returncode == 0 and "default 44444" in r.stdout


def test_unwritable_log_and_unknown_host_are_one_line_and_exit_1(tmp_path) -> None:
    bad_log = str(tmp_path / "missing" / "mensajes.txt")
    for args, expected in [
        (
            ["--log", bad_log],
            f"udpeco serve: error: cannot write log {bad_log}: No such file or directory\n",
        ),
        (
            ["--bind", "no-such-host.invalid"],
            "udpeco serve: error: cannot resolve 'no-such-host.invalid': ",
        ),
    ]:
        r = subprocess.run(
            ["udpeco", "serve", "--port", "0", *args], capture_output=True, text=True, timeout=10
        )
        assert r.returncode == 1 and r.stderr.startswith(expected), r
        assert r.stderr.count("\n") == 1


def test_a_gso_sender_gets_every_datagram_answered_printed_and_counted() -> None:
    """A client that sends with UDP GSO (``send_many`` of equal-size datagrams) hands the
    kernel one train; the server, which receives with GRO, must still treat each datagram on
    its own: one reply, one printed line and one count each, in order, cut to ``--bufsize``."""
    import udpeco

    proc, port = start_serve("--bufsize", "12")
    with udpeco.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
        c.settimeout(2.0)
        assert ask(c, port, b"up") == b"up"
        sent = [f"mensaje-{k:03d}-de-16".encode() for k in range(40)]
        assert c.send_many([(d, (LOOP, port)) for d in sent]) == len(sent)
        replies = [c.recvfrom(100)[0] for _ in sent]
    assert replies == [d[:12] for d in sent]
    code, out, err = finish(proc)
    lines = out.splitlines()
    assert [line.split("] - ", 1)[1] for line in lines] == ["up"] + [d[:12].decode() for d in sent]
    assert code == 130
    assert f"41 datagrams, {2 + 40 * 12} bytes, 1 clients, 0 drops" in err
