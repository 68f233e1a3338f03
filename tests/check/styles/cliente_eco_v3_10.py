# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
# X is a constant here (the práctica leaves it free).
import select
import socket
import sys

X = 2
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:
    msg = input("Mensaje: ")
    s.sendto(msg.encode(), (host, port))
    r, _, _ = select.select([s], [], [], X)
    if not r:
        print("El servidor no responde: me voy")
        sys.exit(3)
    print("Respuesta: " + s.recv(1024).decode())
