# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
from socket import *

a = socket(AF_INET, SOCK_DGRAM)
b = socket(AF_INET, SOCK_DGRAM)
a.bind(("", 8888))
b.bind(("", 9999))
a.settimeout(5.0)
b.settimeout(5.0)
while True:
    for sock in (a, b):
        try:
            data, addr = sock.recvfrom(1024)
        except timeout:
            print("Nada en 5 seg por", sock.getsockname())
            continue
        sock.sendto(data, addr)
