"""Output of ``udpeco scan``: text lines, JSON Lines (a summary last) and nmap's XML (``-oX``).

The XML has the structure of ``nmap -sU -oX`` (nmaprun, scaninfo, host, ports with one port
element each, extraports for the most common state when more than 25 ports share it,
runstats), so the tools that read nmap's XML (python-libnmap, ``nmap.xsl``, Metasploit's
importer...) read udpeco's.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

#: nmap collapses a state into <extraports> when more ports than this share it.
EXTRAPORTS_AFTER = 25
#: The nmap XML version written (nmap 7.x's).
XML_OUTPUT_VERSION = "1.05"


def quoteattr(value: str) -> str:
    """An XML attribute value, quoted (xml.sax.saxutils' would import urllib: 0.1 s)."""
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = escaped.replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")
    return f'"{escaped}"'


def json_line(r: Any) -> str:
    """One JSON object: port, state, reason, service, rtt (seconds or null)."""
    return json.dumps(
        {
            "port": r.port,
            "state": r.state,
            "reason": r.reason,
            "service": r.service,
            "rtt": r.rtt,
        }
    )


def summary_line(host: str, ports: int, counts: dict[str, int], elapsed: float) -> str:
    """``--json``'s last line: ``{"summary": {"host", "ports", "states", "elapsed"}}``."""
    states = {state: n for state, n in counts.items() if n}
    summary = {"host": host, "ports": ports, "states": states, "elapsed": elapsed}
    return json.dumps({"summary": summary}, ensure_ascii=False)


def _port_xml(r: Any) -> str:
    service = r.service
    method, conf = ("probed", "10") if service else ("table", "3")
    svc = f'<service name={quoteattr(service or "unknown")} method="{method}" conf="{conf}"/>'
    return (
        f'<port protocol="udp" portid="{r.port}"><state state="{r.state}" '
        f'reason="{r.reason}" reason_ttl="0"/>{svc}</port>'
    )


def nmap_xml(
    host: str,
    address: str,
    results: Sequence[Any],
    argv: Sequence[str],
    start: float,
    end: float,
) -> str:
    """The scan as nmap's XML (``-oX``)."""
    args = quoteattr(" ".join(argv))
    startstr = time.ctime(start)
    ports = sorted({r.port for r in results})
    addrtype = "ipv6" if ipaddress.ip_address(address).version == 6 else "ipv4"
    states = Counter(r.state for r in results)
    collapsed = None
    if states:
        common, count = states.most_common(1)[0]
        if count > EXTRAPORTS_AFTER:
            collapsed = common
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<!DOCTYPE nmaprun>",
        f"<!-- udpeco scan initiated {startstr} as: {' '.join(argv).replace('--', '-&#45;')} -->",
        f'<nmaprun scanner="udpeco" args={args} start="{int(start)}" '
        f'startstr="{startstr}" version="7.93" xmloutputversion="{XML_OUTPUT_VERSION}">',
        f'<scaninfo type="udp" protocol="udp" numservices="{len(ports)}" '
        f'services="{_ranges(ports)}"/>',
        '<verbose level="0"/>',
        '<debugging level="0"/>',
        f'<host starttime="{int(start)}" endtime="{int(end)}">'
        '<status state="up" reason="user-set" reason_ttl="0"/>',
        f'<address addr="{address}" addrtype="{addrtype}"/>',
        "<hostnames>",
    ]
    if host != address:
        out.append(f'<hostname name={quoteattr(host)} type="user"/>')
    out += ["</hostnames>", "<ports>"]
    if collapsed is not None:
        reasons = Counter(r.reason for r in results if r.state == collapsed)
        out.append(f'<extraports state="{collapsed}" count="{states[collapsed]}">')
        out += [f'<extrareasons reason="{reason}" count="{n}"/>' for reason, n in reasons.items()]
        out.append("</extraports>")
    out += [_port_xml(r) for r in sorted(results, key=lambda r: r.port) if r.state != collapsed]
    elapsed = f"{end - start:.2f}"
    endstr = time.ctime(end)
    out += [
        "</ports>",
        "</host>",
        f'<runstats><finished time="{int(end)}" timestr="{endstr}" summary="udpeco done at '
        f'{endstr}; 1 IP address (1 host up) scanned in {elapsed} seconds" '
        f'elapsed="{elapsed}" exit="success"/><hosts up="1" down="0" total="1"/>',
        "</runstats>",
        "</nmaprun>",
    ]
    return "\n".join(out) + "\n"


def _ranges(ports: Sequence[int]) -> str:
    """``1-3,7`` for [1, 2, 3, 7] (sorted input), as nmap's scaninfo writes it."""
    parts: list[str] = []
    i = 0
    while i < len(ports):
        j = i
        while j + 1 < len(ports) and ports[j + 1] == ports[j] + 1:
            j += 1
        parts.append(str(ports[i]) if i == j else f"{ports[i]}-{ports[j]}")
        i = j + 1
    return ",".join(parts)
