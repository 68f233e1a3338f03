# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
import random
import socket

puerto = random.randint(20000, 20100)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", puerto))
while True:
    data, addr = s.recvfrom(1024)
    s.sendto(data, addr)
