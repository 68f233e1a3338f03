"""The shape of one captured UDP datagram, as ``udpeco.capture`` and ``udpeco.Capture`` give it.

``udpeco capture --json`` prints the same keys (all but ``data``, the raw bytes), one JSON object
per line.
"""

from __future__ import annotations

from typing import Literal, TypedDict

#: How the checksum relates to the datagram (see docs/capture.md).
ChecksumStatus = Literal["ok", "bad", "zero", "offload", "unverified"]


class CapturedDatagram(TypedDict):
    """One UDP datagram seen on an interface."""

    #: When the kernel received it (seconds since the epoch).
    time: float
    #: The interface it was seen on.
    iface: str
    #: ``"in"`` when it arrived, ``"out"`` when this host sent it (never ``"out"`` on loopback,
    #: where each datagram is kept once, as it arrives).
    direction: Literal["in", "out"]
    #: IP source and destination addresses (IPv4 or IPv6, as text).
    src: str
    dst: str
    #: UDP source and destination ports.
    sport: int
    dport: int
    #: The UDP length field: 8 (the header) + the payload's length when the sender is right.
    length: int
    #: The UDP checksum (the value a device puts on the wire when ``checksum_status`` is
    #: ``"offload"``).
    checksum: int
    checksum_status: ChecksumStatus
    #: Payload length in bytes (of this packet: only the start when ``fragment``).
    payload_len: int
    #: The payload as safe text: ``\n``, ``\r``, ``\t`` and ``\\`` as two characters, other
    #: control bytes, invalid UTF-8 and the like as ``\xNN``.
    payload: str
    #: The payload bytes, exactly.
    data: bytes
    #: True when this packet is only the first fragment of a larger datagram.
    fragment: bool
