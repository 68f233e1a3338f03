"""The message and batch calls release the GIL while blocked and answer Ctrl+C within 200 ms."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from udpeco import _udpeco

CALLS = {
    "recvmsg": lambda s: _udpeco.sock_recvmsg(s, 10, 64),
    "recvmsg_into": lambda s: _udpeco.sock_recvmsg_into(s, [bytearray(10)]),
    "recv_many": lambda s: _udpeco.sock_recv_many(s, 10, 10),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_other_threads_run_while_blocked(call: str) -> None:
    counter = [0]
    stop = threading.Event()

    def spin() -> None:  # pure Python: runs only while the main thread lets go of the GIL
        while not stop.is_set():
            counter[0] += 1

    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer,
    ):
        s.bind(("127.0.0.1", 0))
        peer.bind(("127.0.0.1", 0))
        s.connect(peer.getsockname())
        s.settimeout(5.0)
        timer = threading.Timer(0.3, peer.sendto, args=(b"wake", s.getsockname()))
        spinner = threading.Thread(target=spin)
        spinner.start()
        timer.start()
        try:
            time.sleep(0.01)
            before = counter[0]
            start = time.monotonic()
            result = CALLS[call](s)
            elapsed = time.monotonic() - start
            during = counter[0] - before
        finally:
            stop.set()
            timer.cancel()
            timer.join()
            spinner.join()
    assert b"wake" in repr(result).encode() or result[0] == 4
    assert elapsed < 3.0
    assert during > 1000, f"the other thread ran only {during} iterations in {elapsed:.2f}s"


CHILD = textwrap.dedent(
    """
    import socket, sys, time
    from udpeco import _udpeco
    call, mode = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.connect(("127.0.0.1", 9))  # nothing will ever arrive
    if mode == "timeout":
        s.settimeout(30.0)
    print("ready", flush=True)
    try:
        if call == "recvmsg":
            _udpeco.sock_recvmsg(s, 10)
        elif call == "recv_many":
            _udpeco.sock_recv_many(s, 10, 10)
        else:
            _udpeco.sock_recvmsg(s, 10, 64, socket.MSG_ERRQUEUE)
    except KeyboardInterrupt:
        print("KeyboardInterrupt", repr(time.monotonic()), flush=True)
        sys.exit(0)
    sys.exit(3)
    """
)


# A blocking error-queue read never waits (as in the stdlib): only its timeout mode blocks.
@pytest.mark.parametrize(
    ("call", "mode"),
    [(c, m) for c in ("recvmsg", "recv_many") for m in ("blocking", "timeout")]
    + [("errqueue", "timeout")],
)
def test_sigint_raises_keyboardinterrupt_within_200ms(call: str, mode: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, call, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(20.0, child.kill)
    watchdog.start()
    try:
        assert child.stdout.readline().split() == ["ready"], child.stderr.read()
        time.sleep(0.25)  # let it enter the blocking call
        sent = time.monotonic()  # CLOCK_MONOTONIC is system-wide
        os.kill(child.pid, signal.SIGINT)
        out = child.stdout.readline().split()
        assert child.wait(timeout=10) == 0, child.stderr.read()
    finally:
        watchdog.cancel()
        child.kill()
        child.wait()
        child.stdout.close()
        child.stderr.close()
    assert out[:1] == ["KeyboardInterrupt"], out
    latency = float(out[1]) - sent
    assert 0 <= latency < 0.2, f"KeyboardInterrupt {latency * 1000:.0f} ms after SIGINT"


@pytest.mark.parametrize("call", sorted(CALLS))
def test_close_from_another_thread_ends_the_wait_without_stealing(call: str) -> None:
    """A socket closed while another thread waits on it: the wait fails with EBADF and does
    not read from a new socket that reuses the descriptor number."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(10.0)
    fd = s.fileno()
    reused: list[socket.socket] = []

    def close_and_reuse() -> None:
        s.close()
        new = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        new.bind(("127.0.0.1", 0))
        reused.append(new)
        new.sendto(b"not yours", new.getsockname())

    timer = threading.Timer(0.2, close_and_reuse)
    timer.start()
    start = time.monotonic()
    try:
        with pytest.raises(OSError) as info:
            CALLS[call](s)
        elapsed = time.monotonic() - start
    finally:
        timer.join()
        for r in reused:
            r.settimeout(0)
            assert r.fileno() != fd or r.recv(100) == b"not yours"  # still queued for it
            r.close()
    assert info.value.errno == 9
    assert elapsed < 2.0
