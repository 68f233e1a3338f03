"""Ejercicio final 2: ``servidor_final2.py [PORT [FILE]]`` (44444, mensajes.txt).

An echo server (so cliente_eco_v2 gets its answer) that opens FILE and adds one line per
datagram received. When more than 5 s (times ``PRACTICA_TIMEOUT_SCALE``) pass without
receiving anything, it closes the file and ends.

The file is opened safely: an existing file is appended to (never emptied), and a symbolic
link is refused (``O_NOFOLLOW``), so that nobody can make the server write somewhere else.
If a line cannot be written (a full disk), the server says so in one line at the end and
exits with code 1.

How a datagram becomes one line (UTF-8): one trailing newline (``\\n`` or ``\\r\\n``, as netcat
sends) is removed; the rest is escaped as udpeco does everywhere (docs/echo.md): ``\\n``,
``\\r``, ``\\t`` and ``\\\\`` as two characters, control characters and bytes that are not valid
UTF-8 as ``\\xNN`` (the bytes ``b'caf\\xe9'`` give ``caf\\xe9``), so each datagram is one line
and nothing in it can act on a terminal.
Nothing is lost: every datagram is written before the next is read, and the receive buffer is
enlarged (``SO_RCVBUF``) for bursts. Backend: ``UDPECO_BACKEND``.
"""

# Lab-script style kept on purpose (the práctica's string concatenation and names).
# ruff: noqa: E501, UP031, F841

import os
import stat
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
    return texto(data, fin=False)


def abrir(nombre):
    """Opens the file to add lines to it: never through a symbolic link, never emptying it."""
    fd = os.open(
        nombre, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644
    )
    modo = os.fstat(fd).st_mode
    if not (stat.S_ISREG(modo) or stat.S_ISCHR(modo)):
        os.close(fd)
        raise OSError(0, "no es un fichero normal")
    os.set_blocking(fd, True)
    return fd


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
        fd = abrir(FICHERO)
    except OSError as msg:
        if msg.errno == 40:  # ELOOP: FICHERO is a symbolic link
            msg.strerror = "es un enlace simbolico (no se sigue por seguridad)"
        print("No puedo crear el fichero " + FICHERO + ": " + str(msg.strerror))
        s.close()
        sys.exit(1)
    print("Guardando los mensajes en " + FICHERO)

    n = 0
    perdidos = 0  # lines that could not be written
    error = ""
    while 1:
        rlist, wlist, elist = select.select([s], [], [], SILENCIO)
        if not rlist:
            break  # more than 5 s without receiving anything
        data, addr = s.recvfrom(65535)
        try:
            os.write(
                fd, (linea(data) + "\n").encode("utf-8")
            )  # one write per line, nothing buffered
            n = n + 1
        except OSError as msg:
            perdidos = perdidos + 1
            error = str(msg.strerror)
        try:
            s.sendto(data, addr)  # echo, so that a waiting client (v2) gets its answer
        except socket.error as msg:
            print(
                "Fallo en sendto. Codigo de Error : "
                + str(msg.errno)
                + " Mensaje "
                + str(msg.strerror)
            )

    os.close(fd)
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
    if perdidos or error:
        print("No se pudieron escribir " + str(perdidos) + " mensajes en " + FICHERO + ": " + error)
        return 1


if __name__ == "__main__":
    run(main)
