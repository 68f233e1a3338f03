"""Ejercicio 7: servidor de eco no bloqueante. ``servidor_eco_v25.py [PORT]`` (44444).

Servidor v2 with ``setblocking(0)``: ``recvfrom`` never waits; when nothing is there it raises
an exception, which is caught and reported as ``recepción fallida``. Between two failed tries
the server sleeps a moment (0.5 s, times ``PRACTICA_TIMEOUT_SCALE``) so that it does not spin a
core at 100%. It still echoes every datagram; '.' stops it. Backend: ``UDPECO_BACKEND``.
"""

# Lab-script style kept on purpose (the práctica's string concatenation and names).
# ruff: noqa: E501, UP031, F841

import sys
import time

try:
    from udpeco.practica3.backend import port_arg, run, segundos, socket, texto
except ImportError:  # run as a script from a checkout where udpeco is not installed
    from backend import port_arg, run, segundos, socket, texto

USAGE = "Usage: python servidor_eco_v25.py [PortNumber]"
PAUSA = segundos(0.5)  # rest between two failed receptions


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

    # the socket never blocks: recvfrom raises an exception if nothing has arrived
    s.setblocking(0)

    while 1:
        try:
            d = s.recvfrom(1024)
        except socket.error:  # BlockingIOError (EAGAIN): nothing to read right now
            print("recepción fallida")
            time.sleep(PAUSA)  # do not spin a core while nothing arrives
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
