"""Ejercicio 9: ``servidor_eco_v3_9.py [PORT1 PORT2]`` (8888 9999).

Servidor v3 that, after 20 s in a row without receiving anything (four empty 5 s selects;
times ``PRACTICA_TIMEOUT_SCALE``), closes both sockets and ends. Backend: ``UDPECO_BACKEND``.
"""

# Lab-script style kept on purpose (the práctica's string concatenation and names).
# ruff: noqa: E501, UP031, F841

import sys

try:
    from udpeco.practica3.backend import fmt, port_arg, run, segundos, select, socket, texto
except ImportError:  # run as a script from a checkout where udpeco is not installed
    from backend import fmt, port_arg, run, segundos, select, socket, texto

USAGE = "Usage: python servidor_eco_v3_9.py [PortNumber1 PortNumber2]"
ESPERA = segundos(5)  # select's limit
LIMITE = 4  # 4 empty selects in a row = 20 s without receiving anything


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

    silencios = 0  # empty selects in a row
    while 1:
        # Await a read event
        rlist, wlist, elist = select.select([s, s2], [], [], ESPERA)

        # Test for timeout
        if [rlist, wlist, elist] == [[], [], []]:
            silencios = silencios + 1
            if silencios == LIMITE:
                print(
                    "Han pasado "
                    + fmt(LIMITE * ESPERA)
                    + " seg sin recibir nada. Cierro los sockets y salgo."
                )
                break
            print("Han pasado " + fmt(ESPERA) + " seg sin recibir nada por ningun socket.\n")
        else:
            silencios = 0
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
