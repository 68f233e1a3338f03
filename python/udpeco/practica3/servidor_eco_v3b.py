"""Servidor de eco UDP v3b (Listado 4, settimeout): ``servidor_eco_v3b.py [PORT]`` (8888).

One socket with ``settimeout(5.0)`` (times ``PRACTICA_TIMEOUT_SCALE``): it echoes what
arrives; when 5 s pass without anything, ``recvfrom`` raises ``socket.timeout`` and the server
prints ``** Exception: socket('0.0.0.0', 8888) timed out after 5.0 seg.`` and ends.
Backend: ``UDPECO_BACKEND``.
"""

# Lab-script style kept on purpose (the práctica's string concatenation and names).
# ruff: noqa: E501, UP031, F841

import sys

try:
    from udpeco.practica3.backend import port_arg, run, segundos, socket, texto
except ImportError:  # run as a script from a checkout where udpeco is not installed
    from backend import port_arg, run, segundos, socket, texto

USAGE = "Usage: python servidor_eco_v3b.py [PortNumber]"
TIMEOUT = segundos(5.0)


def main():
    if len(sys.argv) > 2:
        print(USAGE)
        return 2
    PORT = port_arg(sys.argv[1], USAGE) if len(sys.argv) == 2 else 8888

    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except socket.error as msg:
        print(
            "Failed to create socket. Error Code: "
            + str(msg.errno)
            + " Message "
            + str(msg.strerror)
        )
        sys.exit(1)
    # Bind socket to address: *:8888
    try:
        s.bind(("", PORT))
    except socket.error as msg:
        print("Bind failed. Error Code: " + str(msg.errno) + " Message " + str(msg.strerror))
        sys.exit(1)
    # set timeout TIMEOUT (see above) for socket s blocking operations
    s.settimeout(TIMEOUT)
    try:
        while 1:
            data, addr = s.recvfrom(1024)
            print("recibido desde " + addr[0] + ":" + str(addr[1]) + ": " + texto(data))
            reply = data
            s.sendto(reply, addr)
    except socket.timeout as msg:
        print(
            "** Exception: socket"
            + str(s.getsockname())
            + " "
            + str(msg)
            + " after "
            + str(TIMEOUT)
            + " seg."
        )
        s.close()
        sys.exit()
    s.close()


if __name__ == "__main__":
    run(main)
