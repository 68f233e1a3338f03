"""Cliente de eco UDP v2 (excepciones): ``cliente_eco_v2.py HOST PORT``.

Cliente v1 whose socket errors (a host that does not resolve, a send that fails...) are caught
and reported as ``Codigo de Error : N Mensaje ...`` with exit code 1. Ends at end of input.
Backend: ``UDPECO_BACKEND``.
"""

# Lab-script style kept on purpose (the práctica's string concatenation and names).
# ruff: noqa: E501, UP031, F841

import sys

try:
    from udpeco.practica3.backend import host_arg, port_arg, run, socket, texto
except ImportError:  # run as a script from a checkout where udpeco is not installed
    from backend import host_arg, port_arg, run, socket, texto


def main():
    # check command line arguments (similar to C language)
    usage = "Usage: python %s <HostName> <PortNumber>" % (sys.argv[0])
    if len(sys.argv) != 3:
        print(usage)
        return 2

    # get hostname and port number from command line. NOTE: port needs to be integer.
    host = host_arg(sys.argv[1], usage)  # the server's name or address, as text
    port = port_arg(sys.argv[2], usage)  # port number should be an integer.

    # create dgram udp socket
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

    while 1:
        try:
            msg = input("Enter message to send : ")
        except EOFError:  # end of input (Ctrl+D or end of a pipe): a clean end
            print()
            break

        try:
            s.sendto(msg.encode(), (host, port))

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
