"""Ejercicio final 2: ``servidor_final2.py [PORT [FILE]]`` (44444, mensajes.txt).

An echo server (so cliente_eco_v2 gets its answer) that creates FILE and writes one line per
datagram received. When more than 5 s (times ``PRACTICA_TIMEOUT_SCALE``) pass without
receiving anything, it closes the file and ends.

How a datagram becomes one line (UTF-8): one trailing newline (``\\n`` or ``\\r\\n``, as netcat
sends) is removed; any other ``\\n`` or ``\\r`` inside is written as the two characters ``\\n``
or ``\\r``, so that each datagram stays one line; a byte that is not valid UTF-8 is written as
``\\xNN`` (Python's ``backslashreplace``), e.g. the bytes ``b'caf\\xe9'`` give ``caf\\xe9``.
Nothing is lost: every datagram is written before the next is read, and the receive buffer is
enlarged (``SO_RCVBUF``) for bursts. Backend: ``UDPECO_BACKEND``.
"""

# Lab-script style kept on purpose (the práctica's string concatenation and names).
# ruff: noqa: E501, UP031, F841

import sys

try:
    from udpeco.practica3.backend import fmt, port_arg, run, segundos, select, socket, texto
except ImportError:  # run as a script from a checkout where udpeco is not installed
    from backend import fmt, port_arg, run, segundos, select, socket, texto

USAGE = "Usage: python servidor_final2.py [PortNumber [FileName]]"
SILENCIO = segundos(5)  # more than this without receiving anything ends the server


def linea(data):
    """The line (without its end) that the file gets for one datagram."""
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    return texto(data).replace("\n", "\\n").replace("\r", "\\r")


def main():
    if len(sys.argv) > 3:
        print(USAGE)
        return 2
    PORT = port_arg(sys.argv[1], USAGE) if len(sys.argv) >= 2 else 44444
    FICHERO = sys.argv[2] if len(sys.argv) == 3 else "mensajes.txt"

    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # a bigger receive buffer, so that a burst waits in the kernel instead of being dropped
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        s.bind(("", PORT))
    except socket.error as msg:
        print(
            "Fallo en bind. Codigo de Error : " + str(msg.errno) + " Mensaje " + str(msg.strerror)
        )
        sys.exit(1)

    try:
        f = open(FICHERO, "w", encoding="utf-8")
    except OSError as msg:
        print("No puedo crear el fichero " + FICHERO + ": " + str(msg.strerror))
        s.close()
        sys.exit(1)
    print("Guardando los mensajes en " + FICHERO)

    n = 0
    while 1:
        rlist, wlist, elist = select.select([s], [], [], SILENCIO)
        if not rlist:
            break  # more than 5 s without receiving anything
        data, addr = s.recvfrom(65535)
        f.write(linea(data) + "\n")
        n = n + 1
        try:
            s.sendto(data, addr)  # echo, so that a waiting client (v2) gets its answer
        except socket.error as msg:
            print(
                "Fallo en sendto. Codigo de Error : "
                + str(msg.errno)
                + " Mensaje "
                + str(msg.strerror)
            )

    f.close()
    s.close()
    print(
        "Han pasado "
        + fmt(SILENCIO)
        + " seg sin recibir nada: "
        + str(n)
        + " mensajes guardados en "
        + FICHERO
        + ". Fin."
    )


if __name__ == "__main__":
    run(main)
