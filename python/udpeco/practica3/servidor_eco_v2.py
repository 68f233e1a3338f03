"""Servidor de eco UDP v2 (excepciones): ``servidor_eco_v2.py [PORT]`` (44444 by default).

Servidor v1 whose socket errors are caught and reported in the práctica's words, e.g.
``Fallo en bind. Codigo de Error : 98 Mensaje Address already in use`` (exercise 6: start it
twice), and exit code 1. A failed send is reported and the server goes on. '.' stops it.
Backend: ``UDPECO_BACKEND``.
"""

# Lab-script style kept on purpose (the práctica's string concatenation and names).
# ruff: noqa: E501, UP031, F841

import sys

try:
    from udpeco.practica3.backend import port_arg, run, socket, texto
except ImportError:  # run as a script from a checkout where udpeco is not installed
    from backend import port_arg, run, socket, texto

USAGE = "Usage: python servidor_eco_v2.py [PortNumber]"


def main():
    if len(sys.argv) > 2:
        print(USAGE)
        return 2
    HOST = ""  # Symbolic name meaning all interfaces (0.0.0.0)
    PORT = port_arg(sys.argv[1], USAGE) if len(sys.argv) == 2 else 44444

    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except socket.error as msg:
        print(
            "Fallo al crear el socket. Codigo de Error : "
            + str(msg.errno)
            + " Mensaje "
            + str(msg.strerror)
        )
        sys.exit(1)

    try:
        s.bind((HOST, PORT))
    except socket.error as msg:
        print(
            "Fallo en bind. Codigo de Error : " + str(msg.errno) + " Mensaje " + str(msg.strerror)
        )
        sys.exit(1)

    # now the infinite loop. I reply to each message received.
    while 1:
        try:
            # receive data from client (data, addr)
            d = s.recvfrom(1024)
        except socket.error as msg:
            print(
                "Fallo en recvfrom. Codigo de Error : "
                + str(msg.errno)
                + " Mensaje "
                + str(msg.strerror)
            )
            continue
        data = d[0]
        addr = d[1]
        # stopping when '.' is received
        if data.strip() == b".":
            break
        # otherwise just reply
        reply = data
        try:
            s.sendto(reply, addr)
        except socket.error as msg:
            print(
                "Fallo en sendto. Codigo de Error : "
                + str(msg.errno)
                + " Mensaje "
                + str(msg.strerror)
            )
        print("Message[" + addr[0] + ":" + str(addr[1]) + "] - " + texto(data.strip()))
    s.close()


if __name__ == "__main__":
    run(main)
