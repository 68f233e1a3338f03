"""`udpeco capture` and `udpeco.capture` on real loopback traffic: the decoded header (length
field, checksum recomputed independently), sizes 0, 1 and 1472, IPv6, hostile payloads, forged
headers from a raw socket, --count, --timeout, Ctrl+C, the GIL, and the error without the
privilege. The two-namespace veth test is in test_capture_netns.py."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest
import udpeco
from capture_util import UDPECO, CaptureProc, needs_capture, udp_checksum
from gil_probe import other_thread_ticking


def pair(family: int = socket.AF_INET) -> tuple[socket.socket, socket.socket, int]:
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    rx = socket.socket(family, socket.SOCK_DGRAM)
    rx.bind((host, 0))
    tx = socket.socket(family, socket.SOCK_DGRAM)
    tx.bind((host, 0))
    return rx, tx, rx.getsockname()[1]


def check_header(d: dict, payload: bytes) -> None:
    """The length field is 8 + the payload, and the checksum is what RFC 768 gives."""
    assert d["length"] == 8 + len(payload) == 8 + d["payload_len"]
    assert d["checksum_status"] in ("ok", "offload"), d
    want = udp_checksum(d["src"], d["dst"], d["sport"], d["dport"], d["length"], payload)
    assert d["checksum"] == want, (hex(d["checksum"]), hex(want))


@needs_capture
@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6], ids=["ipv4", "ipv6"])
def test_cli_json_decodes_sizes_0_1_1472(family: int) -> None:
    rx, tx, port = pair(family)
    sport = tx.getsockname()[1]
    sizes = [b"", b"x", bytes(range(256)) * 5 + b"y" * 192]
    assert len(sizes[2]) == 1472
    with rx, tx, CaptureProc("--iface", "lo", "--port", str(port), "--json", "--count", "3") as c:
        # Traffic on another port is not shown.
        tx.sendto(b"noise", tx.getsockname())
        for payload in sizes:
            tx.sendto(payload, rx.getsockname()[:2])
        records = [c.record() for _ in sizes]
        code, out, err = c.finish()
    assert code == 0, err
    # JSON Lines end with the summary object (docs/json.md).
    assert json.loads(out) == {"summary": {"datagrams": 3}}
    assert err.strip().splitlines()[-1] == "udpeco: 3 datagrams captured"
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    for d, payload in zip(records, sizes):
        assert {
            "src",
            "dst",
            "sport",
            "dport",
            "length",
            "checksum",
            "payload_len",
            "payload",
        } <= d.keys()
        assert (d["src"], d["dst"], d["iface"], d["direction"]) == (host, host, "lo", "in")
        assert (d["sport"], d["dport"]) == (sport, port)
        check_header(d, payload)
    assert records[0]["payload"] == ""
    assert records[1]["payload"] == "x"
    # Bytes above 0x7f that are not UTF-8 are escaped; the text gives the bytes back.
    # (\t, \n and \r are written as two characters: 30 controls of 33 as \xNN.)
    assert records[2]["payload"].count("\\x") == 5 * (128 + 30)
    assert records[2]["payload_len"] == 1472


@needs_capture
def test_text_line_escapes_a_hostile_payload() -> None:
    rx, tx, port = pair()
    sport = tx.getsockname()[1]
    hostile = b"\x1b[2J\x1b]0;pwned\x07\r\nfake line\xff\xfe\\ \xe2\x80\xae<script>"
    with rx, tx, CaptureProc("--iface", "lo", "--port", str(port), "--count", "1") as c:
        tx.sendto(hostile, rx.getsockname())
        code, out, err = c.finish()
    assert code == 0, err
    [line] = out.splitlines()
    head = f" lo in 127.0.0.1:{sport} > 127.0.0.1:{port} length {8 + len(hostile)} checksum 0x"
    assert head in line, line
    assert line.endswith(
        "payload 40 bytes: \\x1b[2J\\x1b]0;pwned\\x07\\r\\nfake line\\xff\\xfe\\\\ "
        "\\xe2\\x80\\xae<script>"
    ), line
    assert all(ch >= " " and ch != "\x7f" for ch in line), "a control character reached stdout"


def raw_udp(sport: int, dport: int, payload: bytes, length: int | None, checksum: int) -> bytes:
    ulen = 8 + len(payload) if length is None else length
    return struct.pack("!HHHH", sport, dport, ulen, checksum) + payload


@needs_capture
def test_forged_headers_show_as_they_are() -> None:
    """A raw socket writes the UDP header itself: a right checksum is `ok`, a wrong one `bad`,
    no checksum `zero`, and a length field that lies is shown as it is."""
    rx, _tx, port = pair()
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    good_sum = udp_checksum("127.0.0.1", "127.0.0.1", 4000, port, 13, b"hello")
    cases = [
        (raw_udp(4000, port, b"hello", None, good_sum), 13, good_sum, "ok"),
        (raw_udp(4000, port, b"hello", None, good_sum ^ 0x0101), 13, good_sum ^ 0x0101, "bad"),
        (raw_udp(4000, port, b"hello", None, 0), 13, 0, "zero"),
        (raw_udp(4000, port, b"hello", 20, good_sum), 20, good_sum, "unverified"),
    ]
    with rx, raw, udpeco.Capture("lo", port) as cap:
        for packet, length, checksum, status in cases:
            raw.sendto(packet, ("127.0.0.1", 0))
            d = cap.recv(timeout=10)
            assert d is not None
            assert (d["length"], d["checksum"], d["checksum_status"]) == (length, checksum, status)
            assert (d["payload_len"], d["data"], d["sport"]) == (5, b"hello", 4000)


@needs_capture
def test_count_stops_after_n_and_timeout_after_s() -> None:
    rx, tx, port = pair()
    with rx, tx, CaptureProc("--iface", "lo", "--port", str(port), "--count", "2") as c:
        for i in range(5):
            tx.sendto(b"%d" % i, rx.getsockname())
        code, out, _ = c.finish()
    assert code == 0
    assert [ln.rsplit(": ", 1)[1] for ln in out.splitlines()] == ["0", "1"]
    with CaptureProc("--iface", "lo", "--port", str(port), "--timeout", "0.5") as c:
        armed = time.monotonic()  # the timeout runs from here (the process printed "capturing")
        code, out, err = c.finish()
    elapsed = time.monotonic() - armed
    assert (code, out) == (0, ""), err
    assert "0 datagrams captured" in err
    assert 0.45 <= elapsed < 5, elapsed


@needs_capture
def test_ctrl_c_stops_promptly_with_130() -> None:
    _rx, _tx, port = pair()
    with CaptureProc("--iface", "lo", "--port", str(port)) as c:
        start = time.monotonic()
        c.proc.send_signal(signal.SIGINT)
        code, _, err = c.finish()
        elapsed = time.monotonic() - start
    assert code == 130
    assert "Traceback" not in err
    assert "0 datagrams captured" in err
    # 200 ms is the budget for the wait to end; the interpreter's exit comes on top (loaded
    # machine: generous bound).
    assert elapsed < 1.5, elapsed


@needs_capture
def test_api_releases_the_gil_while_waiting_and_capture_collects() -> None:
    rx, tx, port = pair()
    with udpeco.Capture("lo", port) as cap:
        with other_thread_ticking() as ticks:
            assert cap.recv(timeout=0.3) is None
        assert ticks.count > 50, "the other thread could not run while recv() waited"
        assert repr(cap) == f"Capture(iface='lo', port={port})"
        # Ctrl+C (SIGINT) during an endless wait raises KeyboardInterrupt within one tick.
        sent: list[float] = []

        def interrupt() -> None:
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)

        timer = threading.Timer(0.1, interrupt)
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            cap.recv()
        late = time.monotonic() - sent[0]
        timer.join()
        assert late < 0.5, f"KeyboardInterrupt {late * 1000:.0f} ms after SIGINT (budget 200)"
    assert cap.closed
    with pytest.raises(OSError):
        cap.recv(0)
    stop = threading.Event()

    def keep_sending() -> None:
        while not stop.wait(0.02):
            tx.sendto(b"ping", rx.getsockname())

    sender = threading.Thread(target=keep_sending)
    sender.start()
    try:
        got = udpeco.capture(iface="lo", port=port, count=2, timeout=10)
    finally:
        stop.set()
        sender.join()
        rx.close()
        tx.close()
    assert [d["data"] for d in got] == [b"ping", b"ping"]
    check_header(got[0], b"ping")
    start = time.monotonic()
    assert udpeco.capture(iface="lo", port=port, timeout=0.2) == []
    assert 0.2 <= time.monotonic() - start < 3


def test_api_argument_errors() -> None:
    with pytest.raises(ValueError, match="count or timeout"):
        udpeco.capture(iface="lo")
    with pytest.raises(ValueError, match="port"):
        udpeco.Capture("lo", 70000)
    with pytest.raises(ValueError, match="count"):
        udpeco.capture(count=0)


@needs_capture
def test_unknown_interface_is_one_line_exit_2() -> None:
    with pytest.raises(ValueError, match="no such network interface"):
        udpeco.Capture("nosuchif0")
    p = subprocess.run(
        [*UDPECO, "capture", "--iface", "nosuchif0"], capture_output=True, text=True, timeout=30
    )
    assert p.returncode == 2
    assert p.stderr == 'udpeco capture: error: no such network interface: "nosuchif0"\n'


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
def test_without_cap_net_raw_one_line_and_exit_1() -> None:
    drop = ["setpriv", "--inh-caps=-all", "--bounding-set=-net_raw", "--"]
    p = subprocess.run(
        [*drop, *UDPECO, "capture", "--iface", "lo", "--count", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert p.returncode == 1
    assert p.stdout == ""
    assert len(p.stderr.splitlines()) == 1, p.stderr
    assert p.stderr.startswith("udpeco capture: error: capture needs CAP_NET_RAW"), p.stderr
    api = subprocess.run(
        [*drop, *UDPECO[:1], "-c", "import udpeco; udpeco.Capture('lo')"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "PermissionError: [Errno 1] Operation not permitted" in api.stderr


def test_json_output_is_one_object_per_line() -> None:
    from udpeco.cli.capture import as_json, line

    d = {
        "time": 1.5, "iface": "lo", "direction": "in", "src": "::1", "dst": "::1",
        "sport": 1, "dport": 2, "length": 9, "checksum": 0xABC, "checksum_status": "ok",
        "payload_len": 1, "payload": "\\n", "data": b"\n", "fragment": False,
    }  # fmt: skip
    text = as_json(d)
    assert "\n" not in text
    assert json.loads(text) == {k: v for k, v in d.items() if k != "data"}
    assert "[::1]:1 > [::1]:2 length 9 checksum 0x0abc (ok) payload 1 bytes: \\n" in line(d)


@needs_capture
def test_every_interface_by_default_each_loopback_datagram_once() -> None:
    rx, tx, port = pair()
    with rx, tx, udpeco.Capture(port=port) as cap:
        assert cap.iface is None
        for i in range(3):
            tx.sendto(b"%d" % i, rx.getsockname())
        got = [cap.recv(timeout=10) for _ in range(3)]
        assert cap.recv(timeout=0.2) is None, "a loopback datagram was shown twice"
    assert [(d["iface"], d["data"]) for d in got if d] == [("lo", b"0"), ("lo", b"1"), ("lo", b"2")]
