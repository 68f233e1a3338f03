"""Servidor de eco UDP v3 (Listado 3, select): ``servidor_eco_v3.py [PORT1 PORT2]`` (8888 9999).

Two sockets watched with one ``select``: each datagram is printed and echoed from the socket
that received it; after 5 s (times ``PRACTICA_TIMEOUT_SCALE``) with nothing on either socket it
prints ``Han pasado 5 seg sin recibir nada por ningun socket.``. Runs until Ctrl+C.
Backend: ``UDPECO_BACKEND``.
"""

# Lab-script style kept on purpose (the práctica's string concatenation and names).
# ruff: noqa: E501, UP031, F841

import sys

try:
    from udpeco.practica3.backend import fmt, port_arg, run, segundos, select, socket, texto
except ImportError:  # run as a script from a checkout where udpeco is not installed
    from backend import fmt, port_arg, run, segundos, select, socket, texto

USAGE = "Usage: python servidor_eco_v3.py [PortNumber1 PortNumber2]"
ESPERA = segundos(5)  # select's limit


def main():
    if len(sys.argv) not in (1, 3):
        print(USAGE)
        return 2
    PORT1 = port_arg(sys.argv[1], USAGE) if len(sys.argv) == 3 else 8888
    PORT2 = port_arg(sys.argv[2], USAGE) if len(sys.argv) == 3 else 9999

    # Create two sockets in the server
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    # Bind sockets: s to address: *:8888 , s2 to address *:9999
    s.bind(("", PORT1))
    s2.bind(("", PORT2))

    while 1:
        # Await a read event
        rlist, wlist, elist = select.select([s, s2], [], [], ESPERA)

        # Test for timeout
        if [rlist, wlist, elist] == [[], [], []]:
            print("Han pasado " + fmt(ESPERA) + " seg sin recibir nada por ningun socket.\n")
        else:
            # Loop through each socket in rlist, read and print the available data
            for sock in rlist:
                data, addr = sock.recvfrom(1024)
                print(
                    "recibido en mi socket "
                    + str(sock.getsockname())
                    + " desde el origen "
                    + addr[0]
                    + ":"
                    + str(addr[1])
                    + ": "
                    + texto(data)
                )
                reply = data
                sock.sendto(reply, addr)

    s.close()
    s2.close()


if __name__ == "__main__":
    run(main)
