"""One host rule for every engine (docs/hosts.md): the same table of hosts fed to EchoServer,
Client, bench, scan and Proxy, and to the commands serve, client, bench, scan and proxy, must
give the same accepted set, the same address and the same exception class and message. Real
sockets: echo servers on 127.0.0.1 and ::1 answer every engine that reaches a host."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest
import udpeco
from echo_helpers import read_line
from load_helpers import udpeco_cmd
from udpeco import _udpeco

#: host -> (the address to bind, the address to reach).
ACCEPTED: dict[str, tuple[str, str]] = {
    "": ("0.0.0.0", "127.0.0.1"),
    "localhost": ("127.0.0.1", "127.0.0.1"),
    "127.0.0.1": ("127.0.0.1", "127.0.0.1"),
    "::1": ("::1", "::1"),
    "[::1]": ("::1", "::1"),
}
#: host -> the exception every engine raises for it (its message is checked to be the same).
REFUSED: dict[str, type[Exception]] = {
    "no-such-host.invalid": socket.gaierror,
    "\udcff": ValueError,  # a command-line word whose bytes are not UTF-8
    "<broadcast>": ValueError,
    "[127.0.0.1]": ValueError,
    "a\0b": ValueError,
}
HOSTS = [*ACCEPTED, *REFUSED]

Outcome = tuple[str, str]


def outcome(run: Callable[[], str]) -> Outcome:
    """``("ok", address)`` or ``(exception class, message)``."""
    try:
        return ("ok", run())
    except (OSError, ValueError, TypeError) as e:
        return (type(e).__name__, str(e))


def expected(host: str, bind: bool) -> Outcome:
    if host in ACCEPTED:
        return ("ok", ACCEPTED[host][0 if bind else 1])
    return outcome(lambda: _udpeco.resolve_host(host, bind=bind))


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, int]]:
    """Echo servers on 127.0.0.1 and ::1: the port to reach each address on.

    No per-source rate limit: the bench runs of several names of one address at the same time
    spend that address's budget, and the guard would then (rightly) drop the client's datagram.
    """
    four = udpeco.EchoServer(port=0, host="127.0.0.1", quiet=True, stop=None, rate_limit=0)
    six = udpeco.EchoServer(port=0, host="::1", quiet=True, stop=None, rate_limit=0)
    four.start()
    six.start()
    yield {"127.0.0.1": four.ports[0], "::1": six.ports[0]}
    four.close()
    six.close()


def port_for(host: str, servers: dict[str, int]) -> int:
    return servers[ACCEPTED[host][1]] if host in ACCEPTED else 9


def test_the_table_is_the_rule() -> None:
    for host, (to_bind, to_reach) in ACCEPTED.items():
        assert _udpeco.resolve_host(host, bind=True) == to_bind
        assert _udpeco.resolve_host(host) == to_reach
    for host, error in REFUSED.items():
        for bind in (False, True):
            with pytest.raises(error):
                _udpeco.resolve_host(host, bind=bind)
    assert expected("<broadcast>", False) == (
        "ValueError",
        "invalid host name '<broadcast>': a broadcast address (udpeco neither sends to nor "
        "serves on one)",
    )
    assert expected("\udcff", False) == (
        "ValueError",
        "invalid host name '\\xff': not valid UTF-8 text",
    )
    kind, message = expected("no-such-host.invalid", False)
    assert kind == "gaierror" and "cannot resolve 'no-such-host.invalid': " in message


@pytest.mark.parametrize("host", HOSTS, ids=repr)
def test_every_engine_agrees(host: str, servers: dict[str, int]) -> None:
    port = port_for(host, servers)

    def echo_server() -> str:
        with udpeco.EchoServer(port=0, host=host, quiet=True, stop=None) as s:
            bound = s.host
        return bound

    def client() -> str:
        with udpeco.Client(host, port, timeout=5) as c:
            assert c.request(b"hosts") == b"hosts"
            peer = str(c.peer[0])
        return peer

    def bench() -> str:
        r = udpeco.bench(host, port, duration=0.2, window=4)
        assert r["received"] > 0
        return ACCEPTED[host][1]

    def scan() -> str:
        (r,) = udpeco.scan(host, [port], timeout=2)
        assert r.state == "open", r
        return ACCEPTED[host][1]

    def proxy_listen() -> str:
        with udpeco.Proxy((host, 0), ("127.0.0.1", 9)) as p:
            listening = str(p.address[0])
        return listening

    def proxy_target() -> str:
        with udpeco.Proxy(("127.0.0.1", 0), (host, port)) as p:
            target = str(p.target[0])
        return target

    binds = {"EchoServer": echo_server, "Proxy listen": proxy_listen}
    reaches = {"Client": client, "bench": bench, "scan": scan, "Proxy target": proxy_target}
    got = {name: outcome(run) for name, run in {**binds, **reaches}.items()}
    want = {name: expected(host, name in binds) for name in got}
    assert got == want


def _error_message(stderr: str, command: str) -> str:
    """The engine's message in a one-line command-line error (without the prefix and the
    ``argument X:`` the parser adds)."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    prefix = f"udpeco {command}: error: "
    assert lines[0].startswith(prefix), stderr
    text = lines[0][len(prefix) :]
    if text.startswith("argument "):
        text = text.split(": ", 1)[1]
    return text


def _engine_message(host: str) -> str:
    try:
        _udpeco.resolve_host(host)
    except socket.gaierror as e:
        return str(e.strerror)
    except ValueError as e:
        return str(e)
    raise AssertionError(f"{host!r} is accepted")


def _banner(args: list[str], marker: str) -> tuple[int, str, str]:
    """Starts the long-running ``udpeco ARGS``: its exit code, the host its banner shows after
    ``marker`` (or '' when it failed to start), and stderr."""
    proc = subprocess.Popen(
        udpeco_cmd(*args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    first = read_line(proc.stderr, timeout=30).decode(errors="replace")
    shown = ""
    if marker in first:
        shown = first.split(marker, 1)[1].split(" ", 1)[0].rsplit(":", 1)[0].strip("[]")
        proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=30)[1].decode(errors="replace")
    return proc.returncode, shown, first if not shown else rest


def _serve(host: str) -> tuple[int, str, str]:
    """``udpeco serve --bind HOST``: the host of its banner ``echoing on HOST:PORT``."""
    return _banner(["serve", "--bind", host, "--port", "0", "--quiet"], "echoing on ")


def _proxy(target: str) -> tuple[int, str, str]:
    """``udpeco proxy 127.0.0.1:0 TARGET``: the target host of its banner ``... -> HOST:PORT``."""
    return _banner(["proxy", "127.0.0.1:0", target], " -> ")


def _run(args: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        udpeco_cmd(*args),
        input=stdin.decode(),
        capture_output=True,
        text=True,
        timeout=60,
        errors="replace",
    )


def _endpoint(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


CLI_HOSTS = [h for h in HOSTS if "\0" not in h]  # a command-line word never holds a NUL


def test_every_command_agrees(servers: dict[str, int]) -> None:
    jobs: dict[tuple[str, str], Callable[[], Any]] = {}
    for host in CLI_HOSTS:
        port = str(port_for(host, servers))
        jobs[host, "client"] = partial(_run, ["client", host, port], b"hosts\n")
        jobs[host, "bench"] = partial(
            _run, ["bench", host, port, "--duration", "0.2", "--window", "4"]
        )
        jobs[host, "scan"] = partial(_run, ["scan", host, port, "--timeout", "2"])
        jobs[host, "serve"] = partial(_serve, host)
        jobs[host, "proxy"] = partial(_proxy, _endpoint(host, int(port)))
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = {key: pool.submit(job) for key, job in jobs.items()}
        results: dict[tuple[str, str], Any] = {key: f.result() for key, f in futures.items()}
    for host in CLI_HOSTS:
        port_number = port_for(host, servers)
        client, bench, scan = (results[host, c] for c in ("client", "bench", "scan"))
        code, shown, serve_err = results[host, "serve"]
        proxy_code, proxy_target, proxy_err = results[host, "proxy"]
        if host in ACCEPTED:
            bind, reach = ACCEPTED[host]
            assert client.returncode == 0 and client.stdout == "Server reply : hosts\n", client
            assert bench.returncode == 0, bench
            assert scan.returncode == 0 and f"{port_number}/udp open" in scan.stdout, scan
            assert shown == bind, serve_err
            assert proxy_target == reach, proxy_err
            continue
        message = _engine_message(host)
        for name, run in (("client", client), ("bench", bench), ("scan", scan)):
            assert run.returncode in (1, 2), run
            assert _error_message(run.stderr, name) == message, run
        assert code in (1, 2) and _error_message(serve_err, "serve") == message
        assert proxy_code in (1, 2) and _error_message(proxy_err, "proxy") == message
