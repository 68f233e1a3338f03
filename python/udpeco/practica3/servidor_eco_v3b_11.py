"""Ejercicio 11: v3b with two sockets. ``servidor_eco_v3b_11.py [PORT1 PORT2]`` (8888 9999).

The attempt the exercise asks for, kept to show why it cannot work well: each socket has
``settimeout(5.0)`` (times ``PRACTICA_TIMEOUT_SCALE``) and the loop waits on one socket, then
on the other. Runs until Ctrl+C. Backend: ``UDPECO_BACKEND``.

Why settimeout cannot multiplex: a timeout belongs to ONE socket, and a blocking ``recvfrom``
watches only that socket. While the loop is blocked in ``s.recvfrom`` a datagram for ``s2``
just waits in the kernel until ``s`` times out (up to 5 s later), and the "nothing for 5 s"
message is per socket, never "nothing on any socket". Only ``select`` watches both sockets at
once and wakes on the first event (servidor_eco_v3).
"""

# Lab-script style kept on purpose (the práctica's string concatenation and names).
# ruff: noqa: E501, UP031, F841

import sys

try:
    from udpeco.practica3.backend import fmt, port_arg, run, segundos, socket, texto
except ImportError:  # run as a script from a checkout where udpeco is not installed
    from backend import fmt, port_arg, run, segundos, socket, texto

USAGE = "Usage: python servidor_eco_v3b_11.py [PortNumber1 PortNumber2]"
TIMEOUT = segundos(5.0)


def main():
    if len(sys.argv) not in (1, 3):
        print(USAGE)
        return 2
    PORT1 = port_arg(sys.argv[1], USAGE) if len(sys.argv) == 3 else 8888
    PORT2 = port_arg(sys.argv[2], USAGE) if len(sys.argv) == 3 else 9999

    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except socket.error as msg:
        print(
            "Failed to create socket. Error Code: "
            + str(msg.errno)
            + " Message "
            + str(msg.strerror)
        )
        sys.exit(1)
    # Bind sockets: s to address: *:8888 , s2 to address *:9999
    try:
        s.bind(("", PORT1))
        s2.bind(("", PORT2))
    except socket.error as msg:
        print("Bind failed. Error Code: " + str(msg.errno) + " Message " + str(msg.strerror))
        sys.exit(1)
    # one timer per socket: each recvfrom below waits for its own socket only
    s.settimeout(TIMEOUT)
    s2.settimeout(TIMEOUT)

    while 1:
        # first s, then s2: while blocked on one, the other is not watched
        for sock in [s, s2]:
            try:
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
            except socket.timeout:
                print(
                    "Han pasado "
                    + fmt(TIMEOUT)
                    + " seg sin recibir nada por el socket "
                    + str(sock.getsockname())
                    + "."
                )

    s.close()
    s2.close()


if __name__ == "__main__":
    run(main)
