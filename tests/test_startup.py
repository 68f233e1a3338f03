"""What ``import udpeco`` and the ``udpeco`` command load at start-up, and that the names loaded
later (PEP 562) behave as if they had been imported at once.

The drop-in socket and the names ``udpeco`` takes from the stdlib's ``socket`` module come on
first use: a program that only runs an engine, and every command, start without them (about 30
ms on the project's machines; the whole-process scan against nmap counts every one of them).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap

import udpeco


def loaded_after(code: str) -> set[str]:
    """The modules of interest in sys.modules after running `code` in a fresh interpreter."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        """
        import sys
        print(" ".join(m for m in ("socket", "shutil", "udpeco._socket", "udpeco._stdlib")
                       if m in sys.modules))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(out.split())


def test_import_udpeco_leaves_the_socket_module_for_later() -> None:
    assert loaded_after("import udpeco") == set()
    assert loaded_after("import udpeco; udpeco.scan") == set(), "engines need no stdlib socket"
    assert loaded_after("import udpeco; udpeco.AF_INET") >= {"socket", "udpeco._stdlib"}


def test_the_scan_command_starts_without_socket_or_shutil() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends
    code = f"""
        import contextlib, io
        from udpeco.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as out:
            assert main(["scan", "127.0.0.1", "{port}"]) == 0
        assert "1 closed" in out.getvalue(), out.getvalue()
    """
    assert loaded_after(code) == set()


def test_lazy_names_are_the_eager_ones() -> None:
    assert udpeco.socket.__module__ == "udpeco" and issubclass(udpeco.socket, socket.socket)
    assert udpeco.error is socket.error and udpeco.timeout is socket.timeout
    assert udpeco.AF_INET is socket.AF_INET and udpeco.getaddrinfo is socket.getaddrinfo
    assert set(udpeco.__all__) <= set(dir(udpeco))
    namespace: dict[str, object] = {}
    exec("from udpeco import *", namespace)
    assert set(udpeco.__all__) <= set(namespace)


def test_a_misspelt_name_is_the_usual_attribute_error() -> None:
    try:
        udpeco.sokcet  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as e:
        assert str(e) == "module 'udpeco' has no attribute 'sokcet'"
    else:
        raise AssertionError("no AttributeError")
