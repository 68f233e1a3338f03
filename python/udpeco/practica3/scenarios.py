"""The práctica scenarios ``udpeco compare`` runs on each backend, and how each is measured.

A scenario runs the same lab programs on the stdlib backend (``UDPECO_BACKEND=python``), on
udpeco's drop-in socket/select (``UDPECO_BACKEND=rust``) and, where one exists, on the Rust
engine that does the same job whole (``udpeco.EchoServer``, ``udpeco.scan``). Every program
runs as its own process, servers pinned to core 0 and load to core 1 when there are two cores.
Each run gives a :class:`Row`: the transcript (client ports normalised) and a figure (echoes/s,
lines/s, or seconds). Rows are compared with the stdlib row's transcript.

A row whose engine is not in this build of udpeco says "engine not available"; nothing is faked.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

#: The load every rate is measured with: datagrams in flight and their size (as udpload).
WINDOW = 64
SIZE = 64


@dataclass
class Row:
    """One run of a scenario: who ran it, what it printed, how fast."""

    runner: str
    transcript: str | None = None
    figure: float | None = None
    unit: str = ""
    note: str = ""
    #: The part of the transcript a client sees; an engine whose own printing is not the lab
    #: script's is compared on this part only (``transcript`` is then None).
    client: str | None = None


@dataclass
class Options:
    """What the user chose on the command line."""

    duration: float = 2.0
    range_size: int = 11
    messages: int = 20000
    requests: int = 5000
    repeat: int = 3


@dataclass
class Scenario:
    """A named scenario: what it shows (for ``--help``) and the function that runs it."""

    name: str
    help: str
    run: Callable[[Options], list[Row]]


# ---------------------------------------------------------------------------- helpers


def _cores() -> tuple[list[str], list[str]]:
    """``taskset`` prefixes for the server (core 0) and the load (core 1), if possible."""
    if (os.cpu_count() or 1) >= 2 and _which("taskset"):
        return ["taskset", "-c", "0"], ["taskset", "-c", "1"]
    return [], []


def _which(name: str) -> bool:
    return any(
        os.access(os.path.join(d, name), os.X_OK) for d in os.environ.get("PATH", "").split(":")
    )


def _env(backend: str | None, scale: float | None = None) -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("PRACTICA_TIMEOUT_SCALE", None)
    if backend is not None:
        env["UDPECO_BACKEND"] = backend
    if scale is not None:
        env["PRACTICA_TIMEOUT_SCALE"] = str(scale)
    return env


def _free_ports(n: int, consecutive: bool = False) -> list[int]:
    """``n`` UDP ports free right now on every interface (consecutive if asked)."""
    for _ in range(200):
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("", 0))
        base = probe.getsockname()[1]
        probe.close()
        ports = list(range(base, base + n)) if consecutive else []
        socks = []
        try:
            if consecutive:
                for port in ports:
                    socks.append(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                    socks[-1].bind(("", port))
            else:
                for _ in range(n):
                    socks.append(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                    socks[-1].bind(("", 0))
                ports = [s.getsockname()[1] for s in socks]
            return ports
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free UDP ports")


def _bound(ports: list[int], proc: subprocess.Popen, limit: float = 10.0) -> None:
    """Waits until every port has a bound socket (from /proc/net/udp)."""
    want = set(ports)
    deadline = time.monotonic() + limit
    while True:
        have = set()
        for name in ("/proc/net/udp", "/proc/net/udp6"):
            try:
                with open(name) as f:
                    next(f)
                    have |= {int(line.split()[1].rsplit(":", 1)[1], 16) for line in f}
            except OSError:
                pass
        if want <= have:
            return
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before binding")
        if time.monotonic() > deadline:
            raise RuntimeError(f"ports {sorted(want)} not bound after {limit} s")
        time.sleep(0.02)


def _lab(program: str) -> list[str]:
    return [sys.executable, "-m", f"udpeco.practica3.{program}"]


def _stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Ends a server: SIGINT (Ctrl+C), then kill if it does not end."""
    if proc.poll() is None:
        proc.send_signal(2)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


_EPHEMERAL = re.compile(r"127\.0\.0\.1:\d+")


def normalise(text: str) -> str:
    """A transcript without the client's ephemeral ports."""
    return _EPHEMERAL.sub("127.0.0.1:PORT", text)


def _keep(text: str, payloads: list[str]) -> str:
    """Only the server lines about the scenario's own messages (not the load, not strangers)."""
    return "".join(
        line
        for line in text.splitlines(keepends=True)
        if line.rstrip("\n").endswith(tuple(payloads))
    )


_ENGINES: dict[str, bool] = {}


def engine(name: str) -> bool:
    """Whether this build of udpeco has the engine ``name`` (EchoServer, bench, scan)."""
    if name not in _ENGINES:
        try:
            import udpeco

            _ENGINES[name] = hasattr(udpeco, name)
        except ImportError:
            _ENGINES[name] = False
    return _ENGINES[name]


def load(port: int, duration: float) -> tuple[float, str]:
    """Closed-loop load on 127.0.0.1:PORT from another process (core 1): ``(echoes/s, tool)``.

    ``udpeco.bench`` (Rust) when this build has it, so the load is not the bottleneck;
    otherwise the stdlib loop in :func:`pyload`.
    """
    _, load_core = _cores()
    if engine("bench"):
        code = (
            "import json, udpeco; "
            f"r = udpeco.bench('127.0.0.1', {port}, duration={duration!r}, window={WINDOW}, "
            f"size={SIZE}); print(json.dumps({{'rate': r['rate']}}))"
        )
        tool = "udpeco.bench"
    else:
        code = "import json; from udpeco.practica3.scenarios import pyload; " + (
            f"print(json.dumps({{'rate': pyload({port}, {duration!r})}}))"
        )
        tool = "stdlib loop"
    out = subprocess.run(
        [*load_core, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        env=_env(None),
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed: {out.stderr.strip().splitlines()[-1:]}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["rate"]), tool


def pyload(port: int, duration: float) -> float:
    """The stdlib load loop: WINDOW datagrams of SIZE bytes in flight for ``duration`` s."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    s.settimeout(0.5)
    payload = b"x" * SIZE
    for _ in range(WINDOW):
        s.send(payload)
    got = 0
    start = time.monotonic()
    end = start + duration
    while time.monotonic() < end:
        try:
            s.recv(2048)
        except socket.timeout:  # a lost datagram: refill the window
            for _ in range(WINDOW):
                s.send(payload)
            continue
        got += 1
        s.send(payload)
    elapsed = time.monotonic() - start
    s.close()
    return got / elapsed


def _run_client(program: str, args: list[object], backend: str, stdin: str, **kw) -> str:
    out = subprocess.run(
        [*_lab(program), *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(backend, kw.get("scale")),
        check=False,
    )
    return out.stdout + out.stderr


def _best_of(opts: Options, runners: list[tuple[str, Callable[[], Row]]]) -> list[Row]:
    """Runs every runner ``opts.repeat`` times, interleaved, and keeps each one's best run.

    The machine is shared: interleaving and best-of keep a passing load from deciding a ratio.
    A runner whose engine is missing is given as ``(name, None)`` and says so.
    """
    best: dict[str, Row] = {}
    for _ in range(opts.repeat):
        for name, fn in runners:
            if fn is None:
                best[name] = Row(name, note="engine not available")
                continue
            row = fn()
            old = best.get(name)
            if old is None or old.figure is None:
                best[name] = row
            elif row.figure is not None:
                better = row.figure < old.figure if row.unit == "s" else row.figure > old.figure
                if better:
                    best[name] = row
    for row in best.values():
        if row.figure is not None and opts.repeat > 1:
            row.note += f"; best of {opts.repeat}"
    return [best[name] for name, _ in runners]


# ------------------------------------------------------------------------- scenario v1

V1_MESSAGES = ["hola", "que tal", "adios"]


def _v1_server(runner: str, backend: str | None, port: int, opts: Options) -> Row:
    server_core, _ = _cores()
    if backend is None:
        cmd = [
            sys.executable,
            "-c",
            f"import udpeco; udpeco.EchoServer({port}, stop=b'.').run()",
        ]
    else:
        cmd = _lab("servidor_eco_v1") + [str(port)]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        server = subprocess.Popen([*server_core, *cmd], stdout=log, stderr=log, env=_env(backend))
        try:
            _bound([port], server)
            client = _run_client(
                "cliente_eco_v1",
                ["127.0.0.1", port],
                backend or "python",
                "\n".join(V1_MESSAGES) + "\n",
            )
            rate, tool = load(port, opts.duration)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(b".", ("127.0.0.1", port))
            server.wait(10)
        finally:
            _stop(server)
        log.seek(0)
        printed = _keep(log.read(), V1_MESSAGES)
    return Row(
        runner,
        normalise(client + printed),
        rate,
        "echoes/s",
        f"load: {tool}, {WINDOW} in flight, {SIZE} B",
    )


def scenario_v1(opts: Options) -> list[Row]:
    (port,) = _free_ports(1)
    return _best_of(
        opts,
        [
            ("stdlib socket", lambda: _v1_server("stdlib socket", "python", port, opts)),
            ("udpeco drop-in", lambda: _v1_server("udpeco drop-in", "rust", port, opts)),
            (
                "udpeco.EchoServer",
                (lambda: _v1_server("udpeco.EchoServer", None, port, opts))
                if engine("EchoServer")
                else None,
            ),
        ],
    )


# ------------------------------------------------------------------------- scenario v3


def _v3_server(runner: str, backend: str | None, opts: Options) -> Row:
    p1, p2 = _free_ports(2)
    server_core, _ = _cores()
    if backend is None:
        cmd = [
            sys.executable,
            "-c",
            f"import udpeco; udpeco.EchoServer(ports=[{p1}, {p2}], stop=None, silence=5).run()",
        ]
    else:
        cmd = _lab("servidor_eco_v3") + [str(p1), str(p2)]
    seen = []
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        server = subprocess.Popen([*server_core, *cmd], stdout=log, stderr=log, env=_env(backend))
        try:
            _bound([p1, p2], server)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(5)
                for data, port, tag in (
                    (b"uno", p1, "PORT1"),
                    (b"dos", p2, "PORT2"),
                    (b"tres", p1, "PORT1"),
                ):
                    s.sendto(data, ("127.0.0.1", port))
                    reply, addr = s.recvfrom(2048)
                    src = {p1: "PORT1", p2: "PORT2"}.get(addr[1], str(addr[1]))
                    seen.append(
                        f"sent {data.decode()} to {tag}, reply {reply.decode()} from {src}\n"
                    )
            rate, tool = load(p1, opts.duration)
        finally:
            _stop(server)
        log.seek(0)
        printed = _keep(log.read(), [": uno", ": dos", ": tres"])
    printed = printed.replace(f"', {p1})", "', PORT1)").replace(f"', {p2})", "', PORT2)")
    client = "".join(seen)
    transcript = client + normalise(printed) if backend else None
    return Row(runner, transcript, rate, "echoes/s", f"load on one port: {tool}", client=client)


def scenario_v3(opts: Options) -> list[Row]:
    return _best_of(
        opts,
        [
            ("stdlib socket", lambda: _v3_server("stdlib socket", "python", opts)),
            ("udpeco drop-in", lambda: _v3_server("udpeco drop-in", "rust", opts)),
            (
                "udpeco.EchoServer",
                (lambda: _v3_server("udpeco.EchoServer", None, opts))
                if engine("EchoServer")
                else None,
            ),
        ],
    )


# ---------------------------------------------------------------------- scenario client

_CLIENT_ENGINE = """
import sys, udpeco
with udpeco.Client("127.0.0.1", %d, timeout=5.0) as c:
    for line in sys.stdin:
        print("Server reply : " + c.request(line.rstrip("\\n").encode()).decode())
"""


def _replies(text: str) -> str:
    """The ``Server reply : ...`` parts of a client transcript, one per line."""
    return "".join(
        "Server reply : " + part.split("Server reply : ", 1)[1] + "\n"
        for part in text.splitlines()
        if "Server reply : " in part
    )


def _client(runner: str, backend: str | None, port: int, lines: str, n: int) -> Row:
    _, client_core = _cores()
    if backend is None:
        cmd = [sys.executable, "-c", _CLIENT_ENGINE % port]
    else:
        cmd = [*_lab("cliente_eco_v1"), "127.0.0.1", str(port)]
    start = time.monotonic()
    out = subprocess.run(
        [*client_core, *cmd],
        input=lines,
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(backend),
        check=False,
    )
    took = time.monotonic() - start
    text = out.stdout + out.stderr
    head = text[: text.find("Server reply : mensaje 3")] if backend else ""
    note = f"{n} requests, one at a time (whole process)"
    if out.returncode != 0:
        return Row(runner, note=f"failed: {text.strip()[-200:]}")
    if backend is None:
        return Row(runner, None, n / took, "req/s", note, client=_replies(text))
    return Row(runner, head, n / took, "req/s", note, client=_replies(text))


def scenario_client(opts: Options) -> list[Row]:
    (port,) = _free_ports(1)
    n = opts.requests
    lines = "".join(f"mensaje {i}\n" for i in range(n))
    server_core, _ = _cores()
    # One server for every row: servidor_eco_v1 on the stdlib, printing to nowhere.
    server = subprocess.Popen(
        [*server_core, *_lab("servidor_eco_v1"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env("python"),
    )
    try:
        _bound([port], server)
        return _best_of(
            opts,
            [
                ("stdlib socket", lambda: _client("stdlib socket", "python", port, lines, n)),
                ("udpeco drop-in", lambda: _client("udpeco drop-in", "rust", port, lines, n)),
                (
                    "udpeco.Client",
                    (lambda: _client("udpeco.Client", None, port, lines, n))
                    if engine("Client")
                    else None,
                ),
            ],
        )
    finally:
        _stop(server)


# --------------------------------------------------------------------- scenario final1


def scenario_final1(opts: Options) -> list[Row]:
    ports = _free_ports(opts.range_size, consecutive=True)
    first, last = ports[0], ports[-1]
    server = subprocess.Popen(
        [*_lab("servidor_final1"), str(first), str(last)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env("python"),
    )
    rows = []
    try:
        line = server.stdout.readline()
        found = re.search(r"puerto (\d+)", line)
        if not found:
            raise RuntimeError(f"servidor_final1: {line.strip()}")
        port = int(found.group(1))
        _bound([port], server)
        for runner, backend in (("stdlib socket", "python"), ("udpeco drop-in", "rust")):
            start = time.monotonic()
            out = _run_client("cliente_final1", ["127.0.0.1", first, last], backend, "")
            took = time.monotonic() - start
            rows.append(
                Row(runner, out.replace(str(port), "N"), took, "s", "sequential, 0.5 s per port")
            )
        if engine("scan"):
            code = (
                "import time, udpeco; t = time.monotonic(); "
                f"r = udpeco.scan('127.0.0.1', range({first}, {last + 1})); "
                "t = time.monotonic() - t; print(t); "
                "[print('Servidor encontrado en el puerto', x.port)"
                " for x in r if x.state == 'open']"
            )
            start = time.monotonic()
            out = subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            took = time.monotonic() - start
            lines = out.stdout.splitlines()
            if out.returncode != 0 or not lines:
                rows.append(Row("udpeco.scan", note=f"failed: {out.stderr.strip()[-200:]}"))
            else:
                transcript = "".join(x + "\n" for x in lines[1:]).replace(str(port), "N")
                note = f"parallel; scan call {float(lines[0]) * 1000:.1f} ms"
                rows.append(Row("udpeco.scan", transcript, took, "s", note))
        else:
            rows.append(Row("udpeco.scan", note="engine not available"))
    finally:
        _stop(server)
    for row in rows:
        row.note += f" ({last - first + 1} ports, server on port #{port - first + 1})"
    return rows


# --------------------------------------------------------------------- scenario final2

FINAL2_MESSAGES = [b"hola", "ma\u00f1ana".encode(), b"caf\xe9", b"dos\nlineas", b"con fin\n"]


def _final2(runner: str, backend: str | None, opts: Options) -> Row:
    (port,) = _free_ports(1)
    server_core, _ = _cores()
    with tempfile.TemporaryDirectory() as tmp:
        name = os.path.join(tmp, "mensajes.txt")
        if backend is None:
            cmd = [
                sys.executable,
                "-c",
                f"import udpeco; udpeco.EchoServer({port}, stop=None, quiet=True, log={name!r}, "
                "idle_timeout=0.5).run()",
            ]
        else:
            cmd = _lab("servidor_final2") + [str(port), name]
        server = subprocess.Popen(
            [*server_core, *cmd],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=_env(backend, 0.1),
        )
        try:
            _bound([port], server)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(5)
                s.connect(("127.0.0.1", port))
                for data in FINAL2_MESSAGES:
                    s.send(data)
                    s.recv(2048)
                start = time.monotonic()
                sent = got = 0
                while got < opts.messages:
                    while sent < opts.messages and sent - got < WINDOW:
                        s.send(b"linea %d" % sent)
                        sent += 1
                    s.recv(2048)
                    got += 1
                rate = got / (time.monotonic() - start)
            server.wait(30)
        finally:
            _stop(server)
        try:
            with open(name, encoding="utf-8", errors="backslashreplace") as f:
                lines = f.read().splitlines(keepends=True)
        except OSError as e:
            return Row(runner, note=f"no file: {e}")
    head = "".join(lines[: len(FINAL2_MESSAGES)])
    ok = len(lines) == len(FINAL2_MESSAGES) + opts.messages
    note = f"{len(lines)} lines{'' if ok else ' (LOST SOME)'}; {WINDOW} in flight, stdlib client"
    return Row(runner, head, rate, "lines/s", note)


def scenario_final2(opts: Options) -> list[Row]:
    name = "udpeco.EchoServer(log=)"
    return _best_of(
        opts,
        [
            ("stdlib socket", lambda: _final2("stdlib socket", "python", opts)),
            ("udpeco drop-in", lambda: _final2("udpeco drop-in", "rust", opts)),
            (name, (lambda: _final2(name, None, opts)) if engine("EchoServer") else None),
        ],
    )


#: Every scenario, in the order ``all`` runs them.
SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "v1",
            "servidor_eco_v1 with cliente_eco_v1 (3 messages) and echoes/s under a closed-loop "
            "load (64 in flight, 64 B; server on core 0, load on core 1); engine: "
            "udpeco.EchoServer",
            scenario_v1,
        ),
        Scenario(
            "v3",
            "servidor_eco_v3: two ports with select, each reply from the receiving port, echoes/s "
            "on one port; engine: udpeco.EchoServer(ports=[...])",
            scenario_v3,
        ),
        Scenario(
            "client",
            "cliente_eco_v1 fed --requests lines from a pipe, one request at a time, against "
            "servidor_eco_v1 (stdlib): requests/s of the whole client process; engine: "
            "udpeco.Client.request in a loop (compared on the replies)",
            scenario_client,
        ),
        Scenario(
            "final1",
            "final exercise 1: servidor_final1 on a random port of a range, found by "
            "cliente_final1's sequential scan (0.5 s per silent port) and by udpeco.scan",
            scenario_final1,
        ),
        Scenario(
            "final2",
            "final exercise 2: servidor_final2 writing one line per datagram (UTF-8, \\xNN for "
            "other bytes), lines/s for --messages datagrams, none lost; engine: "
            "udpeco.EchoServer(log=...)",
            scenario_final2,
        ),
    )
}
