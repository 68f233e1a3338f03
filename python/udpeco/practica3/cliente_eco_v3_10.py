"""Ejercicio 10, cliente: ``cliente_eco_v3_10.py HOST PORT X``.

Cliente v2 that, after each send, waits for the echo at most X seconds with ``select``. If no
echo arrives in time it prints ``No ha llegado respuesta del servidor en X seg.`` and ends
with exit code 1. Against servidor_eco_v3_10 (3 s sleep): X=1 gives up, X=4 gets the echo.
Backend: ``UDPECO_BACKEND``.
"""

# Lab-script style kept on purpose (the práctica's string concatenation and names).
# ruff: noqa: E501, UP031, F841

import sys

try:
    from udpeco.practica3.backend import (
        fmt,
        host_arg,
        port_arg,
        run,
        seconds_arg,
        select,
        socket,
        texto,
    )
except ImportError:  # run as a script from a checkout where udpeco is not installed
    from backend import fmt, host_arg, port_arg, run, seconds_arg, select, socket, texto


def main():
    # check command line arguments (similar to C language)
    usage = "Usage: python %s <HostName> <PortNumber> <X>" % (sys.argv[0])
    if len(sys.argv) != 4:
        print(usage)
        return 2

    host = host_arg(sys.argv[1], usage)  # the server's name or address, as text
    port = port_arg(sys.argv[2], usage)  # port number should be an integer.
    X = seconds_arg(sys.argv[3], usage)  # longest wait for the echo, in seconds

    # create dgram udp socket
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except socket.error as err:
        print(
            "Fallo al crear el socket. Codigo de Error : "
            + str(err.errno)
            + " Mensaje "
            + str(err.strerror)
        )
        sys.exit(1)

    while 1:
        try:
            msg = input("Enter message to send : ")
        except EOFError:  # end of input (Ctrl+D or end of a pipe): a clean end
            print()
            break

        try:
            s.sendto(msg.encode(), (host, port))

            # wait for the echo no more than X seconds
            rlist, wlist, elist = select.select([s], [], [], X)
            if not rlist:
                print("No ha llegado respuesta del servidor en " + fmt(X) + " seg.")
                s.close()
                sys.exit(1)

            # receive a message (< 1024 bytes) from server (data, addr)
            d = s.recvfrom(1024)
            reply = d[0]
            addr = d[1]

            print("Server reply : " + texto(reply))
        except socket.error as err:
            print("Codigo de Error : " + str(err.errno) + " Mensaje " + str(err.strerror))
            sys.exit(1)

    s.close()


if __name__ == "__main__":
    run(main)
