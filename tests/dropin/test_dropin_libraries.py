"""Libraries that take a socket accept udpeco.socket: asyncio, selectors, socketserver, mypy."""

from __future__ import annotations

import asyncio
import selectors
import socket
import socketserver
import threading

import pytest
import udpeco
from dropin_helpers import LOOPBACK
from echo_helpers import mypy_strict


def _bound() -> udpeco.socket:
    s = udpeco.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LOOPBACK, 0))
    return s


def test_asyncio_datagram_endpoint_with_a_udpeco_socket() -> None:
    async def main() -> tuple:
        loop = asyncio.get_running_loop()
        got: asyncio.Future = loop.create_future()

        class Echo(asyncio.DatagramProtocol):
            def connection_made(self, transport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr) -> None:
                self.transport.sendto(data.upper(), addr)

        class Client(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr) -> None:
                got.set_result(data)

        server_sock = _bound()
        server, _ = await loop.create_datagram_endpoint(Echo, sock=server_sock)
        client, _ = await loop.create_datagram_endpoint(
            Client, remote_addr=server_sock.getsockname()
        )
        try:
            client.sendto(b"hello")
            data = await asyncio.wait_for(got, 5)
            return data, server.get_extra_info("socket").fileno() == server_sock.fileno()
        finally:
            client.close()
            server.close()

    assert asyncio.run(main()) == (b"HELLO", True)


def test_asyncio_sock_recvfrom_sock_sendto_and_add_reader() -> None:
    async def main() -> tuple:
        loop = asyncio.get_running_loop()
        a, b = _bound(), _bound()
        a.setblocking(False)
        b.setblocking(False)
        try:
            await loop.sock_sendto(a, b"one", b.getsockname())
            first = await asyncio.wait_for(loop.sock_recvfrom(b, 100), 5)
            buf = bytearray(10)
            await loop.sock_sendto(a, b"two", b.getsockname())
            n, _ = await asyncio.wait_for(loop.sock_recvfrom_into(b, buf), 5)
            readable: asyncio.Future = loop.create_future()
            loop.add_reader(b, lambda: readable.done() or readable.set_result(b.recvfrom(100)))
            a.sendto(b"three", b.getsockname())
            third = await asyncio.wait_for(readable, 5)
            loop.remove_reader(b)
            return first[0], first[1] == a.getsockname(), bytes(buf[:n]), third[0]
        finally:
            a.close()
            b.close()

    assert asyncio.run(main()) == (b"one", True, b"two", b"three")


def test_selectors_default_selector() -> None:
    a, b = _bound(), _bound()
    with selectors.DefaultSelector() as sel:
        sel.register(b, selectors.EVENT_READ, data="b")
        assert sel.select(0) == []
        a.sendto(b"ping", b.getsockname())
        events = sel.select(5)
        assert [(key.fileobj, key.data, mask) for key, mask in events] == [
            (b, "b", selectors.EVENT_READ)
        ]
        assert b.recvfrom(10)[0] == b"ping"
    a.close()
    b.close()


class _UdpecoServer(socketserver.UDPServer):
    """socketserver.UDPServer on udpeco's socket class."""

    def __init__(self, address, handler) -> None:
        super().__init__(address, handler, bind_and_activate=False)
        self.socket.close()
        self.socket = udpeco.socket(self.address_family, self.socket_type)
        self.server_bind()
        self.server_activate()


class _Upper(socketserver.DatagramRequestHandler):
    def handle(self) -> None:
        self.wfile.write(self.rfile.read().upper())


def test_socketserver_udp_server() -> None:
    with _UdpecoServer((LOOPBACK, 0), _Upper) as server:
        assert isinstance(server.socket, udpeco.socket)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
                c.settimeout(5)
                for word in (b"abc", b"", b"x" * 1000):
                    c.sendto(word, server.server_address)
                    assert c.recvfrom(2000) == (word.upper(), server.server_address)
        finally:
            server.shutdown()
            thread.join()


def test_mypy_accepts_udpeco_socket_where_socket_socket_is_required(tmp_path) -> None:
    pytest.importorskip("mypy")
    ok = mypy_strict(
        tmp_path,
        "uses_socket.py",
        """
        import socket
        import udpeco

        def serve(sock: socket.socket) -> bytes:
            return sock.recv(10)

        s = udpeco.socket(udpeco.AF_INET, udpeco.SOCK_DGRAM)
        serve(s)
        batch: list[tuple[bytes, object]] = s.recv_many(8, 2048)
        """,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = "import socket\n\ndef serve(sock: socket.socket) -> None: ...\n\nserve(3)\n"
    refused = mypy_strict(tmp_path, "bad.py", bad)
    assert refused.returncode == 1 and "arg-type" in refused.stdout
