# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
# Final 1 client with select (0.3 s per port); it prints every port it tries.
import select
import socket
import sys

ip = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for puerto in range(20000, 20101):
    print("probando", puerto)
    s.sendto(b"hay alguien?", (ip, puerto))
    r, _, _ = select.select([s], [], [], 0.3)
    if r:
        s.recvfrom(1024)
        print("ENCONTRADO! el servidor esta en el puerto", puerto)
        break
s.close()
