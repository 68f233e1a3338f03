"""udpeco: a fast, correct UDP toolkit with a Rust core.

``udpeco.socket`` and ``udpeco.select`` are drop-in replacements for the stdlib's UDP socket and
``select.select``; the engines (echo server, multi-port loop, timed client, scanner, load
generator) run whole loops in Rust. Exceptions are the stdlib's own classes, so code written
with ``except socket.error`` or ``except socket.timeout`` works unchanged.
"""

from __future__ import annotations

import socket as _stdlib_socket

from udpeco import _udpeco
from udpeco._udpeco import ScanResult, scan

#: The stdlib's exception classes themselves (``udpeco.error is socket.error``).
error = _stdlib_socket.error
timeout = _stdlib_socket.timeout
gaierror = _stdlib_socket.gaierror
herror = _stdlib_socket.herror

__all__ = ["ScanResult", "error", "gaierror", "herror", "scan", "timeout"]
__version__ = "0.1.0"
