"""Helpers the clause modules share: talking UDP to a program, judging how it behaved."""

from __future__ import annotations

import re
import select
import socket
import threading
import time
import unicodedata
from typing import Any

from udpeco.check.model import Context, Outcome, bad
from udpeco.check.proc import Program

LOCAL = "127.0.0.1"
#: Seconds to wait for what the práctica does not time (an echo, a line, a start) before
#: saying the program hangs: generous, for a loaded machine.
PATIENCE = 6.0


def plain(text: str) -> str:
    """``text`` without accents, lower case (for texts a student may type with or without)."""
    nfkd = unicodedata.normalize("NFKD", text)
    return "".join(c for c in nfkd if not unicodedata.combining(c)).lower()


def short(text: str, limit: int = 160) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def tail(prog: Program, n: int = 3) -> str:
    """The last ``n`` lines the program printed (stdout and stderr), as one line."""
    lines = [line for _, line in prog.out.snapshot() if line.strip()][-n:]
    lines += [line for _, line in prog.err.snapshot() if line.strip()][-n:]
    return short(" | ".join(lines)) if lines else "(nada)"


def exchange(
    sock: socket.socket, data: bytes, port: int, host: str = LOCAL, timeout: float = 2.0
) -> tuple[bytes, tuple[str, int]] | None:
    """Sends ``data`` to ``host:port`` and waits for a datagram carrying it back.

    Returns ``(reply, sender)`` or None after ``timeout``; datagrams with other content
    (a foreign probe on a shared loopback) are skipped.
    """
    sock.sendto(data, (host, port))
    return receive(sock, data, timeout)


def receive(
    sock: socket.socket, data: bytes | None, timeout: float
) -> tuple[bytes, tuple[str, int]] | None:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([sock], [], [], left)
        if not ready:
            return None
        try:
            reply, addr = sock.recvfrom(65535)
        except OSError:  # an ICMP error from an earlier datagram
            continue
        if data is None or reply.strip() == data.strip():
            return reply, addr


def trouble(ctx: Context, prog: Program, *, ended_ok: bool = False) -> Outcome | None:
    """A failure for how ``prog`` behaved (flood, traceback, crash), or None if none.

    ``ended_ok``: the program may have ended by itself (with any exit code).
    """
    if prog.flooded():
        mb = (prog.out.total + prog.err.total) / 1e6
        return bad(
            ctx.t("inunda la salida", "floods its output"),
            ctx.t("unas pocas líneas", "a few lines"),
            ctx.t(f"{mb:.1f} MB de salida", f"{mb:.1f} MB of output"),
        )
    tb = prog.traceback()
    if tb:
        return bad(
            ctx.t(f"{prog.name} termina con un traceback", f"{prog.name} ends in a traceback"),
            ctx.t("sin traceback", "no traceback"),
            short(tb),
        )
    if not ended_ok and not prog.alive() and not prog.stopped_by_checker():
        return bad(
            ctx.t(f"{prog.name} ha terminado antes de tiempo", f"{prog.name} ended early"),
            ctx.t("sigue en marcha", "keeps running"),
            ctx.t(f"código de salida {prog.returncode}: ", f"exit code {prog.returncode}: ")
            + tail(prog),
        )
    return None


def not_bound(ctx: Context, prog: Program, ports: set[int] | None) -> Outcome:
    what = ", ".join(map(str, sorted(ports))) if ports else ctx.t("alguno", "any")
    if not prog.alive():
        got = ctx.t("terminó (código ", "ended (exit code ") + f"{prog.returncode}): {tail(prog)}"
    else:
        have = sorted(prog.udp_ports())
        got = ctx.t("puertos abiertos: ", "ports bound: ") + (str(have) if have else "-")
    return bad(
        ctx.t(f"{prog.name} no abre el puerto UDP {what}", f"{prog.name} binds no UDP port {what}"),
        ctx.t(f"socket UDP en el puerto {what}", f"a UDP socket on port {what}"),
        got,
    )


def started_server(
    ctx: Context,
    name: str,
    ports: set[int] | None,
    *args: object,
    timeout: float = 10.0,
    **kw: Any,
) -> tuple[Program, Outcome | None]:
    """Starts server ``name`` and waits for its ports: ``(program, failure or None)``."""
    prog = ctx.start(name, *args, **kw)
    have = prog.wait_bound(ports, timeout)
    if (ports and not ports <= have) or not have:
        return prog, trouble(ctx, prog) or not_bound(ctx, prog, ports)
    return prog, None


def number_in(text: str, n: int) -> bool:
    return re.search(rf"(?<!\d){n}(?!\d)", text) is not None


class EchoPeer:
    """A checker-side echo server on a port (a thread), with an optional delay per reply."""

    def __init__(self, ctx: Context, port: int = 0, delay: float = 0.0, reply: bytes = b"") -> None:
        self.sock = ctx.peer(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.delay = delay
        self.reply = reply
        self.got: list[tuple[float, bytes, tuple[str, int]]] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except OSError:
                continue
            self.got.append((time.monotonic(), data, addr))
            if self.delay >= 0:
                if self.delay:
                    time.sleep(self.delay)
                try:
                    self.sock.sendto(self.reply or data, addr)
                except OSError:
                    pass

    def wait(self, n: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.got) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(self.got) >= n

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(1)


def silent_port(ctx: Context) -> int:
    """A bound port of the checker's that never answers (a server that does not reply)."""
    return ctx.peer().getsockname()[1]


def wait_output(prog: Program, pattern: str | re.Pattern[str], timeout: float, since: int = 0):
    """The first stdout line matching ``pattern`` (from line ``since``), or None."""
    i = prog.out.wait_for(pattern, timeout, since)
    return None if i < 0 else prog.out.snapshot()[i]
