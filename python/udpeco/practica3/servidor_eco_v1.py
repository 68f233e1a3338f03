"""Servidor de eco UDP v1 (Listado 1): ``servidor_eco_v1.py [PORT]`` (44444 by default).

Echoes every datagram to its sender and prints ``Message[ip:port] - data``; a datagram that is
just '.' stops it. Backend: ``UDPECO_BACKEND`` (see backend.py).
"""

# Lab-script style kept on purpose (the práctica's string concatenation and names).
# ruff: noqa: E501, UP031, F841

import sys

try:
    from udpeco.practica3.backend import port_arg, run, socket, texto
except ImportError:  # run as a script from a checkout where udpeco is not installed
    from backend import port_arg, run, socket, texto

USAGE = "Usage: python servidor_eco_v1.py [PortNumber]"


def main():
    if len(sys.argv) > 2:
        print(USAGE)
        return 2
    HOST = ""  # Symbolic name meaning all interfaces (0.0.0.0)
    PORT = port_arg(sys.argv[1], USAGE) if len(sys.argv) == 2 else 44444
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # Bind socket to local host and port
    s.bind((HOST, PORT))
    # now the infinite loop. I reply to each message received.
    while 1:
        # receive data from client (data, addr)
        d = s.recvfrom(1024)
        data = d[0]
        addr = d[1]
        # stopping when '.' is received
        if data.strip() == b".":
            break
        # otherwise just reply
        reply = data
        s.sendto(reply, addr)
        print("Message[" + addr[0] + ":" + str(addr[1]) + "] - " + texto(data.strip()))
    s.close()


if __name__ == "__main__":
    run(main)
