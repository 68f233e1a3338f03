"""select: mixed objects, same objects back in order, timeouts, argument errors, > 1,024 fds."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from dropin_helpers import LOOPBACK, STDLIB, raises_exactly


class HasFileno:
    """Any object with a fileno() method, as select accepts."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd


@pytest.fixture
def pipe(closing):
    r, w = os.pipe()
    rf = closing(os.fdopen(r, "rb", buffering=0))
    wf = closing(os.fdopen(w, "wb", buffering=0))
    return rf, wf


def test_mixed_objects_returned_in_order(bk, conn, peer, pipe, closing) -> None:
    rf, wf = pipe
    other = closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    other.bind((LOOPBACK, 0))
    idle = closing(bk.udp())
    idle.bind((LOOPBACK, 0))
    idle.connect(peer.getsockname())  # keeps strays away: nothing ever arrives here
    wrapper = HasFileno(conn.fileno())
    peer.send(b"x")  # conn readable
    wf.write(b"p")  # pipe readable
    other.sendto(b"o", other.getsockname())  # stdlib socket readable
    rlist = [idle, wrapper, rf, other, conn, rf.fileno(), idle.fileno()]
    wlist = [wf, conn, other.fileno(), idle]
    r, w, x = bk.select(rlist, wlist, [conn, rf], 2.0)
    assert r == [wrapper, rf, other, conn, rf.fileno()]
    assert [id(o) for o in r] == [id(wrapper), id(rf), id(other), id(conn), id(r[4])]
    assert w == [wf, conn, other.fileno(), idle]
    assert x == []
    assert type(r) is list and type(w) is list and type(x) is list


def test_subclass_fileno_override_is_used(bk, pipe, closing) -> None:
    rf, wf = pipe
    wf.write(b"p")

    class Sub(bk.mod.socket):
        def fileno(self):
            return rf.fileno()

    s = closing(Sub(socket.AF_INET, socket.SOCK_DGRAM))
    r, _, _ = bk.select([s], [], [], 1.0)
    assert r == [s] and r[0] is s


def test_duplicates_and_tuples(bk, conn, peer) -> None:
    peer.send(b"x")
    r, w, x = bk.select((conn, conn), (conn,), (), 2.0)
    assert (r, w, x) == ([conn, conn], [conn], [])


def test_timeout_zero_polls(bk, conn) -> None:
    start = time.monotonic()
    assert bk.select([conn], [], [], 0) == ([], [], [])
    assert bk.select([conn], [], [], 0.0) == ([], [], [])
    assert time.monotonic() - start < 0.5  # does not block; slack for a loaded machine


def test_float_timeout_expires(bk, conn) -> None:
    start = time.monotonic()
    assert bk.select([conn], [], [], 0.15) == ([], [], [])
    assert 0.14 <= time.monotonic() - start < 1.0


def test_empty_lists_with_timeout_sleep(bk) -> None:
    start = time.monotonic()
    assert bk.select([], [], [], 0.1) == ([], [], [])
    assert 0.09 <= time.monotonic() - start < 1.0


@pytest.mark.parametrize("timeout", [None, 5])
def test_waits_for_data(bk, conn, peer, timeout) -> None:
    # The sender is another Python thread: this also shows select releases the GIL.
    timer = threading.Timer(0.05, peer.send, args=(b"late",))
    timer.start()
    try:
        start = time.monotonic()
        assert bk.select([conn], [], [], timeout) == ([conn], [], [])
        assert time.monotonic() - start < 2.0
    finally:
        timer.cancel()
        timer.join()


def test_pipe_eof_is_readable(bk, pipe) -> None:
    rf, wf = pipe
    wf.close()
    assert bk.select([rf], [], [], 1.0) == ([rf], [], [])


def test_timeout_errors(bk) -> None:
    raises_exactly(
        lambda: bk.select([], [], [], -1), ValueError, message="timeout must be non-negative"
    )
    raises_exactly(
        lambda: bk.select([], [], [], "1"), TypeError, message="timeout must be a float or None"
    )
    raises_exactly(
        lambda: bk.select([], [], [], float("nan")),
        ValueError,
        message="Invalid value NaN (not a number)",
    )
    raises_exactly(
        lambda: bk.select([], [], [], 1e100),
        OverflowError,
        message="timestamp out of range for platform time_t",
    )


class BadFileno:
    def fileno(self):
        return "x"


class RaisingFileno:
    def fileno(self):
        raise RuntimeError("boom")


def test_object_errors(bk, closing) -> None:
    raises_exactly(
        lambda: bk.select([object()], [], [], 0),
        TypeError,
        message="argument must be an int, or have a fileno() method.",
    )
    raises_exactly(
        lambda: bk.select([], ["x"], [], 0),
        TypeError,
        message="argument must be an int, or have a fileno() method.",
    )
    raises_exactly(
        lambda: bk.select([3.0], [], [], 0),
        TypeError,
        message="argument must be an int, or have a fileno() method.",
    )
    raises_exactly(
        lambda: bk.select([BadFileno()], [], [], 0),
        TypeError,
        message="fileno() returned a non-integer",
    )
    raises_exactly(lambda: bk.select([RaisingFileno()], [], [], 0), RuntimeError, message="boom")
    raises_exactly(
        lambda: bk.select([-1], [], [], 0),
        ValueError,
        message="file descriptor cannot be a negative integer (-1)",
    )
    raises_exactly(
        lambda: bk.select([HasFileno(-5)], [], [], 0),
        ValueError,
        message="file descriptor cannot be a negative integer (-5)",
    )
    raises_exactly(
        lambda: bk.select([2**40], [], [], 0),
        OverflowError,
        message="Python int too large to convert to C int",
    )
    raises_exactly(
        lambda: bk.select(5, [], [], 0), TypeError, message="arguments 1-3 must be sequences"
    )


def test_closed_socket_and_closed_fd(bk) -> None:
    s = bk.udp()
    s.close()
    raises_exactly(
        lambda: bk.select([s], [], [], 0),
        ValueError,
        message="file descriptor cannot be a negative integer (-1)",
    )
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    raises_exactly(lambda: bk.select([r], [], [], 0), OSError, 9, "[Errno 9] Bad file descriptor")
    raises_exactly(lambda: bk.select([], [w], [], 0), OSError, 9, "[Errno 9] Bad file descriptor")


STDIN_CHILD = textwrap.dedent(
    """
    import sys
    if sys.argv[1] == "udpeco":
        from udpeco import select
    else:
        from select import select
    r, w, x = select([sys.stdin], [], [], float(sys.argv[2]))
    if r:
        print("ready", r == [sys.stdin], r[0] is sys.stdin, sys.stdin.readline().strip())
    else:
        print("nothing", (r, w, x))
    """
)


def test_sys_stdin_as_in_the_practica(bk) -> None:
    out = subprocess.run(
        [sys.executable, "-c", STDIN_CHILD, bk.name, "3"],
        input="hola\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.stdout == "ready True True hola\n", out.stderr
    # Nothing typed within the limit: stdin is a pipe that stays open and empty.
    child = subprocess.Popen(
        [sys.executable, "-c", STDIN_CHILD, bk.name, "0.2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(20.0, child.kill)  # the readline below cannot hang
    watchdog.start()
    try:
        # Read while our end of its stdin stays open (communicate() would close it: EOF).
        out = child.stdout.readline()
        assert child.wait(timeout=30) == 0
    finally:
        watchdog.cancel()
        child.kill()
        child.stdin.close()
        child.stdout.close()
    assert out == "nothing ([], [], [])\n"


N_MANY = 5000


def test_more_than_1024_descriptors(bk, closing) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = N_MANY + 200
    if hard != resource.RLIM_INFINITY and hard < want:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {want}")
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    try:
        socks = [closing(bk.udp()) for _ in range(N_MANY)]
        assert max(s.fileno() for s in socks) > 1024
        target = socks[-1]
        target.bind((LOOPBACK, 0))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as src:
            src.bind((LOOPBACK, 0))
            target.connect(src.getsockname())
            src.sendto(b"far", target.getsockname())
            if bk is STDLIB:
                # select(2)'s FD_SETSIZE: the stdlib refuses descriptors above 1,023.
                raises_exactly(
                    lambda: bk.select(socks, [], [], 1.0),
                    ValueError,
                    message="filedescriptor out of range in select()",
                )
                return
            r, w, x = bk.select(socks, socks, socks, 2.0)
            assert r == [target]
            assert len(w) == N_MANY and all(a is b for a, b in zip(w, socks))
            assert x == []
            assert target.recvfrom(10) == (b"far", src.getsockname())
            assert bk.select(socks, [], [], 0) == ([], [], [])
    finally:
        for s in socks if "socks" in locals() else []:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
