"""Ejercicio final 1, cliente: ``cliente_final1.py HOST [FIRST LAST]`` (20000 20100).

A sequential port scan, as the práctica describes: for each port from FIRST to LAST it sends a
probe and waits for the echo at most 0.5 s (``settimeout(0.5)``, times
``PRACTICA_TIMEOUT_SCALE``). It prints ``Servidor encontrado en el puerto N`` for the first port
that answers (exit code 0), or a message if none does (exit code 1). Up to 50 s for the whole
range: ``udpeco scan`` does the same in milliseconds. Backend: ``UDPECO_BACKEND``.
"""

# Lab-script style kept on purpose (the práctica's string concatenation and names).
# ruff: noqa: E501, UP031, F841

import sys

try:
    from udpeco.practica3.backend import host_arg, port_arg, run, segundos, socket
except ImportError:  # run as a script from a checkout where udpeco is not installed
    from backend import host_arg, port_arg, run, segundos, socket

TIMEOUT = segundos(0.5)  # wait for an echo on each port
SONDA = b"hola"  # the probe every port gets


def main():
    usage = "Usage: python %s <HostName> [FirstPort LastPort]" % (sys.argv[0])
    if len(sys.argv) not in (2, 4):
        print(usage)
        return 2
    host = host_arg(sys.argv[1], usage)  # the server's name or address, as text
    FIRST = port_arg(sys.argv[2], usage) if len(sys.argv) == 4 else 20000
    LAST = port_arg(sys.argv[3], usage) if len(sys.argv) == 4 else 20100
    if not 0 < FIRST <= LAST:
        print(usage)
        return 2

    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(TIMEOUT)
        for port in range(FIRST, LAST + 1):
            s.sendto(SONDA, (host, port))
            try:
                while 1:
                    data, addr = s.recvfrom(1024)
                    if addr[1] == port and data == SONDA:  # a late echo from another port is not it
                        break
            except socket.timeout:
                continue  # nothing in time: nobody there, try the next port
            print("Servidor encontrado en el puerto " + str(port))
            s.close()
            return 0
    except socket.error as err:
        print("Codigo de Error : " + str(err.errno) + " Mensaje " + str(err.strerror))
        return 1
    print(
        "No hay ningun servidor de eco en "
        + host
        + " entre los puertos "
        + str(FIRST)
        + " y "
        + str(LAST)
    )
    s.close()
    return 1


if __name__ == "__main__":
    run(main)
