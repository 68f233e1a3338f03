"""Ejercicio final 1, servidor: ``servidor_final1.py [FIRST LAST]`` (20000 20100).

An echo server on a random port between FIRST and LAST (``random.randint``); it prints
``Servidor de eco en el puerto N``, then echoes and prints like v1 ('.' stops it).
Find it with cliente_final1. Backend: ``UDPECO_BACKEND``.
"""

# Lab-script style kept on purpose (the práctica's string concatenation and names).
# ruff: noqa: E501, UP031, F841

import random
import sys

try:
    from udpeco.practica3.backend import port_arg, run, socket, texto
except ImportError:  # run as a script from a checkout where udpeco is not installed
    from backend import port_arg, run, socket, texto

USAGE = "Usage: python servidor_final1.py [FirstPort LastPort]"


def main():
    if len(sys.argv) not in (1, 3):
        print(USAGE)
        return 2
    FIRST = port_arg(sys.argv[1], USAGE) if len(sys.argv) == 3 else 20000
    LAST = port_arg(sys.argv[2], USAGE) if len(sys.argv) == 3 else 20100
    if not 0 < FIRST <= LAST:
        print(USAGE)
        return 2

    PORT = random.randint(FIRST, LAST)  # the port the client has to find
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("", PORT))
    except socket.error as msg:
        print(
            "Fallo en bind. Codigo de Error : " + str(msg.errno) + " Mensaje " + str(msg.strerror)
        )
        sys.exit(1)
    print("Servidor de eco en el puerto " + str(PORT))

    while 1:
        data, addr = s.recvfrom(1024)
        # stopping when '.' is received
        if data.strip() == b".":
            break
        s.sendto(data, addr)
        print("Message[" + addr[0] + ":" + str(addr[1]) + "] - " + texto(data.strip()))
    s.close()


if __name__ == "__main__":
    run(main)
