"""`udpeco serve` on a hostile network (issue 10, points 2, 3, 4, 5, 8): injected bytes, log
files (symlinks, full disks, busy ports), the delay queue's memory, a blocked stdout, signal
pairs and messages."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import udpeco
from echo_helpers import LOOP, ask, client, finish, start_serve

INJECTIONS = [
    b"\x1b[2J\x1b]0;pwned\x07clear",
    b"bell\x07 nul\x00 del\x7f",
    b"hi\nMessage[6.6.6.6:66] - forged",
    b"bad \xff\xfe utf8",
    "\u009b31m c1 and \u202e bidi".encode(),
]


def raw_controls(text: str) -> list[str]:
    """Control characters other than the line end, as they appear in `text`."""
    return [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F]


def test_injected_bytes_never_reach_the_terminal_or_the_log_raw(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    proc, port = start_serve("--log", str(log))
    c = client()
    for data in INJECTIONS:
        assert ask(c, port, data) == data, "the echo itself is unchanged"
    code, out, err = finish(proc)
    lines = out.splitlines()
    assert len(lines) == len(INJECTIONS), lines
    assert not raw_controls(out)
    assert not any(line.startswith("Message[6.6.6.6") for line in lines)
    assert lines[0].endswith("] - \\x1b[2J\\x1b]0;pwned\\x07clear")
    assert lines[1].endswith("] - bell\\x07 nul\\x00 del\\x7f")
    assert lines[2].endswith("] - hi\\nMessage[6.6.6.6:66] - forged")
    assert lines[3].endswith("] - bad \\xff\\xfe utf8")
    assert lines[4].endswith("] - \\xc2\\x9b31m c1 and \\xe2\\x80\\xae bidi")
    logged = log.read_bytes().decode("utf-8").splitlines()
    assert logged == [line.split("] - ", 1)[1] for line in lines]
    assert code == 130 and "5 datagrams" in err


def test_the_rule_is_reversible_and_the_lab_helper_uses_it() -> None:
    from udpeco.practica3.backend import _escape_py, texto

    samples = [bytes([b, b]) for b in range(256)] + INJECTIONS + [b"a\\b", "ñ€".encode()]
    for data in samples:
        assert _escape_py(data) == udpeco.escape(data), data
        assert "\n" not in udpeco.escape(data)
    assert udpeco.escape(b"C:\\tmp\tx") == "C:\\\\tmp\\tx"
    assert texto(b"hola\n") == "hola\n", "the práctica's print(data) keeps its line end"
    assert texto(b"a\nMessage[6.6.6.6:66] - forged\n") == "a\\nMessage[6.6.6.6:66] - forged\n"


def test_udpeco_client_and_the_lab_programs_print_escaped() -> None:
    with udpeco.EchoServer(port=0, host="127.0.0.1", quiet=True) as srv:
        port = str(srv.ports[0])
        out = subprocess.run(
            [sys.executable, "-m", "udpeco", "client", "127.0.0.1", port],
            input=b"\x1b[31mred\x07\n",
            capture_output=True,
            timeout=20,
            check=True,
        ).stdout
        assert out == b"Server reply : \\x1b[31mred\\x07\n"
        out = subprocess.run(
            [sys.executable, "-m", "udpeco.practica3.cliente_eco_v1", "127.0.0.1", port],
            input=b"\x1b]0;t\x07\n",
            capture_output=True,
            timeout=20,
            check=False,
        ).stdout
        assert b"Server reply : \\x1b]0;t\\x07" in out and b"\x1b" not in out


def test_the_summary_says_why_datagrams_were_dropped() -> None:
    proc, port = start_serve(
        "--quiet", "--rate-limit", "1/s", "--burst", "2", "--deny", "10.0.0.0/8"
    )
    c = client(timeout=0.5)
    for i in range(6):
        c.sendto(b"%d" % i, (LOOP, port))
    replies = []
    with contextlib.suppress(TimeoutError):
        while True:
            replies.append(c.recvfrom(10)[0])
    assert replies == [b"0", b"1"], "the burst of 2, then the bucket is empty"
    _, _, err = finish(proc)
    summary = err.strip().splitlines()[-1]
    dropped = re.search(
        r"(\d+) datagrams, .*; guard dropped (\d+) \(rate_limited (\d+)\)$", summary
    )
    assert dropped, summary
    assert dropped.groups() == ("2", "4", "4")


def test_denyfile_and_allowfile(tmp_path: Path) -> None:
    deny = tmp_path / "deny.txt"
    deny.write_text("# this lab's loopback\n127.0.0.0/8  ::1\n")
    proc, port = start_serve("--quiet", "--denyfile", str(deny))
    c = client(timeout=0.3)
    c.sendto(b"hola", (LOOP, port))
    with pytest.raises(TimeoutError):
        c.recvfrom(10)
    _, _, err = finish(proc)
    assert err.strip().endswith("; guard dropped 1 (denied 1)"), err
    r = subprocess.run(
        ["udpeco", "serve", "--allowfile", str(tmp_path / "missing.txt")],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--allowfile" in r.stderr, r


@pytest.mark.parametrize("backend", ["python", "rust"])
def test_the_lab_server_prints_injected_bytes_escaped(backend: str) -> None:
    from udpeco.compare.harness import free_ports, wait_bound

    (port,) = free_ports(1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "udpeco.practica3.servidor_eco_v1", str(port)],
        stdout=subprocess.PIPE,
        env={**os.environ, "UDPECO_BACKEND": backend},
    )
    wait_bound([port], proc)
    c = client()
    data = b"\x1b[2Jhi\nMessage[6.6.6.6:66] - forged\x07"
    c.sendto(data, ("127.0.0.1", port))
    assert c.recvfrom(100)[0] == data
    c.sendto(b".", ("127.0.0.1", port))
    out, _ = proc.communicate(timeout=20)
    assert out.endswith(b"] - \\x1b[2Jhi\\nMessage[6.6.6.6:66] - forged\\x07\n"), out
    assert out.count(b"\n") == 1


def test_a_symlinked_log_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    link = tmp_path / "mensajes.txt"
    link.symlink_to(target)
    (tmp_path / "dirlink").symlink_to(tmp_path)
    for path in (link, tmp_path / "dirlink"):
        r = subprocess.run(
            ["udpeco", "serve", "--bind", LOOP, "--port", "0", "--log", str(path), "--overwrite"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert r.returncode == 1 and r.stderr.count("\n") == 1, r
        assert "symbolic link" in r.stderr
    assert target.read_text() == "keep me\n"
    r = subprocess.run(
        [sys.executable, "-m", "udpeco.practica3.servidor_final2", "0", str(link)],
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "UDPECO_BACKEND": "python"},
    )
    assert r.returncode == 1 and "enlace simbolico" in r.stdout, r
    assert target.read_text() == "keep me\n"


def test_a_busy_port_leaves_an_existing_log_alone_and_logs_append(tmp_path: Path) -> None:
    log = tmp_path / "mensajes.txt"
    log.write_text("old line\n")
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind((LOOP, 0))
    r = subprocess.run(
        ["udpeco", "serve", "--bind", LOOP, "--port", str(busy.getsockname()[1])]
        + ["--log", str(log), "--overwrite"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    busy.close()
    assert r.returncode == 1 and "Address already in use" in r.stderr
    assert log.read_text() == "old line\n", "the log is opened only after every port is bound"
    proc, port = start_serve("--log", str(log), "--quiet")
    assert ask(client(), port, b"new line\n") == b"new line\n"
    finish(proc)
    assert log.read_text() == "old line\nnew line\n", "appended by default"
    proc, port = start_serve("--log", str(log), "--quiet", "--overwrite")
    assert ask(client(), port, b"only\n") == b"only\n"
    finish(proc)
    assert log.read_text() == "only\n"


def test_the_log_keeps_datagrams_longer_than_1024_bytes(tmp_path: Path) -> None:
    log = tmp_path / "largo.txt"
    proc, port = start_serve("--log", str(log), "--quiet")
    data = b"z" * 3000 + b"\n"
    assert ask(client(), port, data) == data
    finish(proc)
    assert log.read_text() == "z" * 3000 + "\n", "as servidor_final2's recvfrom(65535)"


def test_a_full_disk_is_reported_counted_and_exits_non_zero() -> None:
    proc, port = start_serve("--log", "/dev/full", "--quiet")
    c = client()
    for i in range(3):
        assert ask(c, port, b"lost %d\n" % i) == b"lost %d\n" % i
    c.sendto(b".", (LOOP, port))
    code, _, err = finish(proc, sig=None)
    assert code == 1, err
    lines = err.strip().splitlines()
    assert "3 drops" in lines[-2]
    assert lines[-1] == (
        "udpeco serve: error: cannot write log /dev/full: [Errno 28] No space left on device "
        "(the lines lost are counted in drops)"
    )


def test_echoserver_keeps_the_log_error_and_counts_the_lost_lines() -> None:
    with udpeco.EchoServer(port=0, host=LOOP, quiet=True, log="/dev/full") as srv:
        assert ask(client(), srv.ports[0], b"uno\n") == b"uno\n"
    assert srv.log_error == "[Errno 28] No space left on device"
    assert srv.stats["drops"] == 1 and srv.stats["datagrams"] == 1


def test_servidor_final2_reports_a_full_disk(tmp_path: Path) -> None:
    from udpeco.compare.harness import free_ports, wait_bound

    (port,) = free_ports(1)
    env = {**os.environ, "UDPECO_BACKEND": "python", "PRACTICA_TIMEOUT_SCALE": "0.4"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "udpeco.practica3.servidor_final2", str(port), "/dev/full"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    wait_bound([port], proc)
    c = client()
    c.sendto(b"hola", ("127.0.0.1", port))
    assert c.recvfrom(100)[0] == b"hola"
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert out.strip().splitlines()[-1] == (
        "No se pudieron escribir 1 mensajes en /dev/full: No space left on device"
    )


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_the_delay_queue_is_bounded_in_bytes() -> None:
    proc, port = start_serve(
        "--delay",
        "30",
        "--bufsize",
        "65535",
        "--quiet",
        "--rate-limit",
        "off",
        "--delay-queue",
        "8M",
    )
    time.sleep(0.2)
    before = rss_kib(proc.pid)
    c = client()
    payload = b"x" * 60_000
    for _ in range(1500):  # 90 MB: without a bound all of it would wait in memory
        c.sendto(payload, (LOOP, port))
    time.sleep(0.5)
    grown = (rss_kib(proc.pid) - before) / 1024
    code, _, err = finish(proc)
    drops = int(re.search(r"(\d+) drops", err).group(1))  # type: ignore[union-attr]
    # 8 MiB of replies at most; 16 MiB of slack for the allocator and the batch buffers.
    assert grown < 8 + 16, f"RSS grew by {grown:.0f} MiB"
    assert drops >= 1000, err


def test_a_blocked_stdout_neither_slows_the_echo_nor_delays_a_stop() -> None:
    proc, port = start_serve("--rate-limit", "off")  # stdout: a pipe this test never reads
    c = client()
    line = b"y" * 200
    for i in range(3000):  # 600 KB of lines: far more than the pipe holds
        assert ask(c, port, line) == line, i
    t = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.stderr is not None
    err = b""
    while b"drops" not in err:
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break
        err += chunk
    took = time.monotonic() - t
    proc.kill()
    proc.wait()
    # 200 ms asked; the bound is generous because the test machine is shared and loaded.
    assert took < 1.0, f"stopped {took:.2f} s after SIGTERM"
    assert re.search(rb"; \d+ lines not printed \(stdout too slow\)", err), err


@pytest.mark.parametrize("first", [signal.SIGINT, signal.SIGTERM])
def test_sigint_and_sigterm_together_exit_cleanly_with_counters(first: int) -> None:
    proc, port = start_serve("--quiet")
    assert ask(client(), port, b"x") == b"x"
    other = signal.SIGTERM if first == signal.SIGINT else signal.SIGINT
    proc.send_signal(first)
    proc.send_signal(other)
    code, _, err = finish(proc, sig=None)
    assert "Traceback" not in err and "1 datagrams" in err, err
    assert code == 128 + first or code == 128 + other


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--idle-timeout", "1e-300"],
            "argument --idle-timeout: invalid number of seconds '1e-300': must be from 1e-09 ",
        ),
        (["--port", "-1"], 'argument --port: invalid port specification "-1": port -1 is out '),
        (["--port", "70000"], 'argument --port: invalid port specification "70000": port 7'),
        (
            ["--workers", "300"],
            "argument --workers: invalid number of workers '300': must be 1-256",
        ),
        (
            ["--delay", "-1"],
            "argument --delay: invalid number of seconds '-1': must be 0 or from 1e-09",
        ),
        (["--rate-limit", "fast"], "argument --rate-limit: 'fast' is not a rate"),
        (["--delay-queue", "1"], "argument --delay-queue: '1' is out of range: must be 64K-64G"),
        (["--allow", "10.0.0.0/33"], 'argument --allow/--deny: invalid address "10.0.0.0/33"'),
    ],
)
def test_bad_values_name_the_flag_and_the_limit(args: list[str], expected: str) -> None:
    r = subprocess.run(
        ["udpeco", "serve", "--bind", LOOP, *args], capture_output=True, text=True, timeout=20
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r
    assert r.stderr.startswith("udpeco serve: error: " + expected), r.stderr


def test_compare_stops_its_lab_servers_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "udpeco", "compare", "v1", "--duration", "30"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: set[int] = set()

    def descendants(pid: int) -> set[int]:
        found = set()
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return found
        for k in map(int, kids):
            found |= {k} | descendants(k)
        return found

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not children:
        children = {
            p
            for p in descendants(proc.pid)
            if b"servidor_eco_v1" in Path(f"/proc/{p}/cmdline").read_bytes()
        }
        time.sleep(0.05)
    assert children, "compare started no lab server"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in children):
        time.sleep(0.05)
    alive = [p for p in children if Path(f"/proc/{p}").exists()]
    for p in alive:
        os.kill(p, signal.SIGKILL)
    assert not alive, "the lab server outlived udpeco compare"
