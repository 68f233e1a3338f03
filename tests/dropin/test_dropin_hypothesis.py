"""Randomized differential test: random sequences of socket calls, flags and argument types
give the same results and exception classes on udpeco as on the stdlib (hypothesis)."""

from __future__ import annotations

import array
import select
import socket
from typing import Any

import pytest
import udpeco

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

LOOPBACK = "127.0.0.1"

FLAGS = st.sampled_from(
    [
        0,
        0,
        0,
        socket.MSG_PEEK,
        socket.MSG_DONTWAIT,
        socket.MSG_TRUNC,
        socket.MSG_ERRQUEUE,
        socket.MSG_PEEK | socket.MSG_TRUNC,
        -1,
        2**31,
        -(2**31) - 1,
        "0",
        1.5,
        None,
    ]
)
SIZES = st.one_of(st.integers(-2, 3000), st.sampled_from([2**63, -(2**63) - 1, "8", 2.0, None]))
PAYLOADS = st.one_of(
    st.binary(max_size=2000),
    st.builds(bytearray, st.binary(max_size=100)),
    st.builds(memoryview, st.binary(max_size=100)),
    st.builds(lambda b: memoryview(b)[::2], st.binary(min_size=2, max_size=100)),
    st.builds(lambda b: array.array("h", b[: len(b) // 2 * 2]), st.binary(max_size=100)),
    st.sampled_from(["text", 42, None, [1, 2]]),
)
ADDRESSES = st.sampled_from(
    [
        "PEER",
        ("127.0.0.1", "PORT"),
        (LOOPBACK, 70000),
        (LOOPBACK, -1),
        ("::1", "PEERPORT"),
        (b"127.0.0.1", "PEERPORT"),
        (42, "PEERPORT"),
        ("127.0.0.1",),
        "PEER-STR",
        None,
        (LOOPBACK, 2**70),
    ]
)
BUFFERS = st.sampled_from(["bytearray", "empty", "readonly", "strided", "array"])

OPS = st.one_of(
    st.tuples(st.just("peer_send"), st.binary(max_size=1500)),
    st.tuples(st.just("mode"), st.sampled_from([0.0, 0.0, 0.02, None])),
    st.tuples(st.just("recv"), SIZES, FLAGS),
    st.tuples(st.just("recvfrom"), SIZES, FLAGS),
    st.tuples(st.just("recv_into"), BUFFERS, SIZES, FLAGS),
    st.tuples(st.just("recvfrom_into"), BUFFERS, SIZES, FLAGS),
    st.tuples(st.just("send"), PAYLOADS, FLAGS),
    st.tuples(st.just("sendto"), PAYLOADS, FLAGS, ADDRESSES),
    st.tuples(st.just("sendall"), PAYLOADS, FLAGS),
)


def _buffer(kind: str) -> Any:
    return {
        "bytearray": lambda: bytearray(64),
        "empty": lambda: bytearray(0),
        "readonly": lambda: b"x" * 64,
        "strided": lambda: memoryview(bytearray(64))[::2],
        "array": lambda: array.array("i", [0] * 16),
    }[kind]()


def _address(spec: Any, peer: tuple) -> Any:
    if spec == "PEER":
        return peer
    if spec == "PEER-STR":
        return f"{peer[0]}:{peer[1]}"
    if isinstance(spec, tuple):
        return tuple({"PORT": str(peer[1]), "PEERPORT": peer[1]}.get(x, x) for x in spec)
    return spec


def _normal(value: Any, peer: tuple) -> Any:
    if isinstance(value, tuple):
        return tuple("PEER" if v == peer else _normal(v, peer) for v in value)
    if isinstance(value, (bytearray, memoryview, array.array)):
        return bytes(value)
    return value


def run_ops(mod: Any, ops: list) -> list:
    """Runs ``ops`` on a receiver of backend ``mod`` connected to a stdlib peer."""
    sock = mod.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out: list = []
    try:
        sock.bind((LOOPBACK, 0))
        peer.bind((LOOPBACK, 0))
        sock.connect(peer.getsockname())
        peer.connect(sock.getsockname())
        sock.setblocking(False)
        paddr = peer.getsockname()
        queued = 0
        for op in ops:
            name, *args = op
            try:
                if name == "peer_send":
                    peer.send(args[0])
                    assert select.select([sock], [], [], 5.0)[0]
                    queued += 1
                    result: Any = None
                elif name == "mode":
                    # Blocking only while a datagram is queued, so no call can wait forever.
                    timeout = args[0] if args[0] is not None or queued else 0.0
                    sock.settimeout(timeout)
                    result = sock.gettimeout()
                elif name in ("recv", "recvfrom"):
                    result = getattr(sock, name)(args[0], args[1])
                elif name in ("recv_into", "recvfrom_into"):
                    buf = _buffer(args[0])
                    result = (
                        getattr(sock, name)(buf, args[1], args[2]),
                        bytes(memoryview(buf).cast("B")) if args[0] != "strided" else None,
                    )
                elif name in ("send", "sendall"):
                    result = getattr(sock, name)(args[0], args[1])
                else:
                    result = sock.sendto(args[0], args[1], _address(args[2], paddr))
                out.append(("ok", _normal(result, paddr)))
            except Exception as e:
                out.append(("raise", type(e).__name__, getattr(e, "errno", None)))
            if sock.gettimeout() is None:
                sock.settimeout(0.0)
            # How many datagrams are still queued (non-destructively), so later blocking
            # modes stay safe.
            queued = 1 if select.select([sock], [], [], 0)[0] else 0
    finally:
        sock.close()
        peer.close()
    return out


@hypothesis.settings(max_examples=200, deadline=None, derandomize=True, database=None)
@hypothesis.given(st.lists(OPS, min_size=1, max_size=10))
def test_random_calls_match_the_stdlib(ops: list) -> None:
    assert run_ops(udpeco, ops) == run_ops(socket, ops)
