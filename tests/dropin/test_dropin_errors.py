"""Errors exactly as the stdlib raises them: classes, errno, strerror, messages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest
from dropin_helpers import LOOPBACK, STDLIB, raises_exactly


def test_errno_98_port_taken(bk, closing) -> None:
    taken = closing(STDLIB.udp())
    taken.bind((LOOPBACK, 0))
    s = closing(bk.udp())
    e = raises_exactly(
        lambda: s.bind(taken.getsockname()), OSError, 98, "[Errno 98] Address already in use"
    )
    assert e.strerror == "Address already in use"
    assert e.args == (98, "Address already in use")
    # The práctica's v2 prints e.errno and e.strerror: both behave as in the stdlib.
    assert isinstance(e, socket.error)


PRIVILEGED = textwrap.dedent(
    """
    import sys
    if sys.argv[1] == "udpeco":
        import udpeco as mod
    else:
        import socket as mod
    s = mod.socket(mod.AF_INET, mod.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 80))
    except OSError as e:
        print(type(e).__name__, e.errno, e)
    else:
        print("bound")
    """
)


def _without_bind_capability() -> list[str]:
    """The command prefix that runs a child without the right to bind ports below 1024."""
    if os.geteuid() != 0:
        return []
    # Root binds privileged ports through CAP_NET_BIND_SERVICE: drop it from the bounding
    # and inheritable sets, so the child (still uid 0, still able to read the venv) lacks it.
    return ["setpriv", "--bounding-set", "-net_bind_service", "--inh-caps", "-net_bind_service"]


def test_errno_13_privileged_port(bk) -> None:
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        if int(f.read()) <= 80:
            pytest.skip("net.ipv4.ip_unprivileged_port_start allows everyone to bind port 80")
    prefix = _without_bind_capability()
    if prefix and subprocess.run(["setpriv", "--help"], capture_output=True).returncode != 0:
        pytest.skip("running as root without setpriv to drop CAP_NET_BIND_SERVICE")
    out = subprocess.run(
        [*prefix, sys.executable, "-c", PRIVILEGED, bk.name],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    assert out == "PermissionError 13 [Errno 13] Permission denied"


def test_errno_90_datagram_too_long(sock, peer) -> None:
    raises_exactly(
        lambda: sock.sendto(b"x" * 65508, peer.getsockname()),
        OSError,
        90,
        "[Errno 90] Message too long",
    )
    sock.connect(peer.getsockname())
    raises_exactly(lambda: sock.send(b"x" * 65508), OSError, 90, "[Errno 90] Message too long")


@pytest.mark.parametrize("port", [70000, -1, 65536, 2**70])
def test_port_out_of_range_overflow(sock, port: int) -> None:
    raises_exactly(
        lambda: sock.sendto(b"x", (LOOPBACK, port)),
        OverflowError,
        message="sendto(): port must be 0-65535.",
    )
    raises_exactly(
        lambda: sock.connect((LOOPBACK, port)),
        OverflowError,
        message="connect(): port must be 0-65535.",
    )


def test_bind_port_out_of_range(bk, closing) -> None:
    s = closing(bk.udp())
    raises_exactly(
        lambda: s.bind((LOOPBACK, 70000)), OverflowError, message="bind(): port must be 0-65535."
    )


@pytest.mark.parametrize(("payload", "typename"), [("hola", "str"), (None, "NoneType"), (5, "int")])
def test_payload_not_bytes_is_typeerror(sock, peer, payload, typename: str) -> None:
    raises_exactly(
        lambda: sock.sendto(payload, peer.getsockname()),
        TypeError,
        message=f"a bytes-like object is required, not '{typename}'",
    )
    sock.connect(peer.getsockname())
    raises_exactly(
        lambda: sock.send(payload),
        TypeError,
        message=f"a bytes-like object is required, not '{typename}'",
    )


BAD_ADDRESSES = [
    ("127.0.0.1", TypeError, "sendto(): AF_INET address must be tuple, not str"),
    (("127.0.0.1",), TypeError, "AF_INET address must be a pair (host, port)"),
    (("127.0.0.1", 1, 2), TypeError, "AF_INET address must be a pair (host, port)"),
    (("127.0.0.1", "9"), TypeError, "'str' object cannot be interpreted as an integer"),
    (("127.0.0.1", 9.0), TypeError, "'float' object cannot be interpreted as an integer"),
    ((1, 9), TypeError, "str, bytes or bytearray expected, not int"),
]


@pytest.mark.parametrize(("addr", "cls", "message"), BAD_ADDRESSES, ids=repr)
def test_wrong_address_types(sock, addr, cls, message: str) -> None:
    raises_exactly(lambda: sock.sendto(b"x", addr), cls, message=message)


@pytest.mark.parametrize("host", ["a\0b", b"a\0b"], ids=["str", "bytes"])
def test_nul_in_host_is_typeerror(sock, host) -> None:
    raises_exactly(
        lambda: sock.sendto(b"x", (host, 9)),
        TypeError,
        message="host name must not contain null character",
    )


def test_host_that_is_not_text_is_typeerror(sock) -> None:
    # "\udcff" is how Python sees the command-line byte 0xff: it cannot be encoded.
    raises_exactly(
        lambda: sock.sendto(b"x", ("\udcff", 9)),
        TypeError,
        message="encoding of hostname failed",
    )


def test_wrong_argument_counts(sock) -> None:
    raises_exactly(
        lambda: sock.sendto(b"x"), TypeError, message="sendto() takes 2 or 3 arguments (1 given)"
    )
    raises_exactly(
        lambda: sock.sendto(b"x", 0, (LOOPBACK, 9), 1),
        TypeError,
        message="sendto() takes 2 or 3 arguments (4 given)",
    )


def test_bytes_host_is_accepted(sock, peer) -> None:
    host, port = peer.getsockname()
    assert sock.sendto(b"b", (host.encode(), port)) == 1
    assert peer.recv(10) == b"b"


@pytest.mark.parametrize("call", ["sendto", "bind", "connect"])
def test_unresolvable_name_is_gaierror(bk, closing, call: str) -> None:
    s = closing(bk.udp())
    addr = ("no-such-host.invalid", 9)
    fn = {
        "sendto": lambda: s.sendto(b"x", addr),
        "bind": lambda: s.bind(addr),
        "connect": lambda: s.connect(addr),
    }[call]
    e = raises_exactly(fn, socket.gaierror, -2, "[Errno -2] Name or service not known")
    assert e.args == (-2, "Name or service not known")
    assert isinstance(e, OSError)


def test_malformed_numeric_address_is_gaierror(sock) -> None:
    raises_exactly(
        lambda: sock.sendto(b"x", ("999.1.1.1", 9)),
        socket.gaierror,
        -2,
        "[Errno -2] Name or service not known",
    )
    raises_exactly(
        lambda: sock.sendto(b"x", ("::1", 9)),
        socket.gaierror,
        -9,
        "[Errno -9] Address family for hostname not supported",
    )


HUGE_INT_CALLS = {
    "recvfrom bufsize": lambda s: s.recvfrom(2**63),
    "recvfrom flags": lambda s: s.recvfrom(1, 2**40),
    "sendto flags": lambda s: s.sendto(b"x", 2**40, (LOOPBACK, 9)),
    "setsockopt level": lambda s: s.setsockopt(2**40, 1, 1),
    "shutdown": lambda s: s.shutdown(2**40),
    "setblocking": lambda s: s.setblocking(2**70),
    "getsockopt buflen": lambda s: s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE, 2**70),
}


@pytest.mark.parametrize("call", sorted(HUGE_INT_CALLS))
def test_int_argument_beyond_c_range_is_overflowerror(sock, call: str) -> None:
    # Same class as the stdlib; the message is the binding's (documented in docs/dropin.md).
    with pytest.raises(OverflowError):
        HUGE_INT_CALLS[call](sock)
