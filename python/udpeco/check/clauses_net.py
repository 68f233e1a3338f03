"""Exercise 3 (client and server on two hosts) and exercise 5 (the UDP header, captured)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

from udpeco.check.clauses_v1 import CV1, SV1
from udpeco.check.common import PATIENCE, short, tail, trouble, wait_output
from udpeco.check.model import Context, Outcome, bad, cannot, clause, exercise, ok
from udpeco.check.proc import holds_packet_socket

EX3 = exercise(
    "ex3",
    "Ejercicio 3: cliente y servidor en equipos distintos",
    "Exercise 3: client and server on different hosts",
    (SV1, CV1),
    host=True,
    seconds=4,
    together=True,
)
SERVER_IP, CLIENT_IP = "10.33.0.1", "10.33.0.2"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


class TwoHosts:
    """Two network namespaces joined by a veth pair: the server's host and the client's."""

    def __init__(self) -> None:
        tag = f"{os.getpid() % 100000}"
        self.server_ns, self.client_ns = f"udpeco-check-{tag}-s", f"udpeco-check-{tag}-c"
        veth_s, veth_c = f"uchk{tag}s", f"uchk{tag}c"
        self.made: list[str] = []
        try:
            for ns in (self.server_ns, self.client_ns):
                _ip("netns", "add", ns)
                self.made.append(ns)
            _ip(
                "link",
                "add",
                veth_s,
                "netns",
                self.server_ns,
                "type",
                "veth",
                "peer",
                "name",
                veth_c,
                "netns",
                self.client_ns,
            )
            for ns, dev, addr in (
                (self.server_ns, veth_s, SERVER_IP),
                (self.client_ns, veth_c, CLIENT_IP),
            ):
                _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
                _ip("-n", ns, "link", "set", dev, "up")
                _ip("-n", ns, "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise

    def prefix(self, ns: str) -> tuple[str, ...]:
        return ("ip", "netns", "exec", ns)

    def close(self) -> None:
        for ns in self.made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
        self.made = []


@clause(
    EX3,
    "two_hosts",
    "Cliente y servidor funcionan en dos equipos",
    "Client and server work on two hosts",
    "Si tienes algún compañero cerca o estás en el CdC puedes ejecutar clientes y servidor en "
    "equipos distintos.",
)
def ex3_two_hosts(ctx: Context) -> Outcome:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return cannot(
            ctx.t(
                "hacen falta permisos de root e iproute2 para crear dos espacios de red "
                "unidos por un par veth",
                "needs root and iproute2 to make two network namespaces joined by a veth pair",
            )
        )
    try:
        hosts = TwoHosts()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        err = getattr(e, "stderr", b"") or b""
        return cannot(
            ctx.t("no se pueden crear los espacios de red: ", "cannot make the namespaces: ")
            + short(err.decode(errors="replace").strip() or str(e))
        )
    try:
        srv = ctx.start(SV1, prefix=hosts.prefix(hosts.server_ns))
        if not srv.wait_bound({44444}, 10.0) >= {44444}:
            return trouble(ctx, srv) or bad(
                ctx.t("el servidor no abre el puerto 44444", "the server binds no port 44444"),
                "44444",
                tail(srv),
            )
        cli = ctx.start(CV1, SERVER_IP, 44444, prefix=hosts.prefix(hosts.client_ns))
        cli.type("hola desde otro equipo\n")
        line = wait_output(cli, "hola desde otro equipo", PATIENCE)
        if line is None:
            return (
                trouble(ctx, cli)
                or trouble(ctx, srv)
                or bad(
                    ctx.t("el cliente no recibe el eco", "the client gets no echo"),
                    f"{SERVER_IP}:44444 -> {CLIENT_IP}",
                    tail(cli),
                )
            )
        srv_line = wait_output(srv, CLIENT_IP, PATIENCE)
        cli.stop()
        srv.stop()
        got = ctx.t(
            f"cliente {CLIENT_IP} -> servidor {SERVER_IP}:44444",
            f"client {CLIENT_IP} -> server {SERVER_IP}:44444",
        )
        if srv_line:
            got += " / " + short(srv_line[1])
        return trouble(ctx, cli) or trouble(ctx, srv) or ok(got)
    finally:
        for prog in ctx.programs:
            prog.stop(0.5)
        hosts.close()


# ------------------------------------------------------------------------------------------
EX5 = exercise(
    "ex5",
    "Ejercicio 5: la cabecera UDP capturada",
    "Exercise 5: the UDP header, captured",
    (SV1, CV1),
    seconds=6,
    together=True,
)
MESSAGES = ("hola", "cabecera UDP de 8 bytes")


def udpeco_capture_available() -> bool:
    try:
        r = subprocess.run(
            [sys.executable, "-m", "udpeco", "capture", "--help"],
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


class Capture:
    """``udpeco capture`` (or tshark) on ``lo``, port 44444, ``count`` datagrams."""

    def __init__(self, count: int) -> None:
        self.tool = ""
        if udpeco_capture_available():
            self.tool = "udpeco capture"
            cmd = [
                sys.executable,
                "-m",
                "udpeco",
                "capture",
                "--iface",
                "lo",
                "--port",
                "44444",
                "--count",
                str(count),
                "--json",
            ]
        elif shutil.which("tshark"):
            self.tool = "tshark"
            cmd = [
                "tshark",
                "-i",
                "lo",
                "-l",
                "-n",
                "-f",
                "udp port 44444",
                "-c",
                str(count),
                "-T",
                "fields",
                "-E",
                "separator=|",
                "-e",
                "ip.src",
                "-e",
                "ip.dst",
                "-e",
                "udp.srcport",
                "-e",
                "udp.dstport",
                "-e",
                "udp.length",
                "-e",
                "udp.checksum",
                "-e",
                "data.data",
            ]
        else:
            self.proc = None
            return
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )

    def ready(self, timeout: float) -> bool:
        """Waits until the capture listens (it holds a packet socket)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            if any(holds_packet_socket(p) for p in _family(self.proc.pid)):
                time.sleep(0.2 if self.tool == "tshark" else 0.0)  # its filter is attached next
                return True
            time.sleep(0.05)
        return False

    def result(self, timeout: float) -> tuple[list[dict[str, object]], str]:
        """The decoded datagrams and the tool's error text."""
        assert self.proc is not None
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            out, err = self.proc.communicate()
        rows: list[dict[str, object]] = []
        for line in out.splitlines():
            if not line.strip():
                continue
            if self.tool == "tshark":
                cols = line.split("|")
                if len(cols) < 7:
                    continue
                payload = bytes.fromhex(cols[6].replace(":", "")) if cols[6] else b""
                rows.append(
                    {
                        "src": cols[0],
                        "dst": cols[1],
                        "sport": int(cols[2]),
                        "dport": int(cols[3]),
                        "length": int(cols[4]),
                        "checksum": cols[5],
                        "payload_len": len(payload),
                        "payload": payload.decode("utf-8", "backslashreplace"),
                    }
                )
            else:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if "summary" not in row:  # the last line counts the datagrams
                    rows.append(row)
        errs = [
            e
            for e in err.splitlines()
            if e.strip()
            and "could be dangerous" not in e
            and not e.startswith(("Capturing on", "Running as user"))
        ]
        return rows, errs[-1] if errs else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.communicate()


def _family(pid: int) -> list[int]:
    """``pid`` and its children (tshark captures in a dumpcap child)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        kids = []
    return [pid, *kids]


def describe(row: dict[str, object]) -> str:
    return (
        f"{row['src']}:{row['sport']} -> {row['dst']}:{row['dport']} "
        f"length={row['length']} checksum={row['checksum']} "
        f"payload({row['payload_len']})={row['payload']!r}"
    )


@clause(
    EX5,
    "udp_length_field",
    "Campo longitud de la cabecera UDP = 8 + tamaño del mensaje",
    "UDP header length field = 8 + the message's size",
    "Examina las cabeceras UDP y comprueba que el campo tamaño del segmento es correcto en "
    "función del mensaje de aplicación que encapsula.",
)
def ex5_length(ctx: Context) -> Outcome:
    cap = Capture(2 * len(MESSAGES))
    if cap.proc is None:
        return cannot(
            ctx.t(
                "no hay herramienta de captura (udpeco capture ni tshark)",
                "no capture tool (neither udpeco capture nor tshark)",
            )
        )
    try:
        if not cap.ready(15.0):
            _, err = cap.result(2.0)
            return cannot(
                ctx.t(f"{cap.tool} no puede capturar: ", f"{cap.tool} cannot capture: ")
                + short(err or "?")
            )
        srv = ctx.start(SV1)
        if not srv.wait_bound({44444}, 10.0) >= {44444}:
            return trouble(ctx, srv) or bad(
                ctx.t("el servidor no abre el puerto 44444", "the server binds no port 44444"),
                "44444",
                tail(srv),
            )
        cli = ctx.start(CV1, "127.0.0.1", 44444)
        for text in MESSAGES:
            cli.type(text + "\n")
            if wait_output(cli, text, PATIENCE) is None:
                return trouble(ctx, cli) or bad(
                    ctx.t("el intercambio v1 no funciona", "the v1 exchange does not work"),
                    text,
                    tail(cli),
                )
        rows, err = cap.result(10.0)
    finally:
        cap.stop()
    if len(rows) < 2 * len(MESSAGES):
        return cannot(
            ctx.t(
                f"{cap.tool} capturó {len(rows)} datagramas: ",
                f"{cap.tool} captured {len(rows)} datagrams: ",
            )
            + short(err)
        )
    wrong = [r for r in rows if r["length"] != 8 + int(str(r["payload_len"]))]
    shown = "; ".join(describe(r) for r in rows)
    if wrong:
        return bad(
            ctx.t("longitud UDP incorrecta", "wrong UDP length"),
            ctx.t("longitud = 8 + carga", "length = 8 + payload"),
            short(shown, 600),
        )
    return ok(f"[{cap.tool}] " + shown)
