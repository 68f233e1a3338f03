# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
# Listado 1 in plain Python 3, `from socket import *` style.
from socket import *

s = socket(AF_INET, SOCK_DGRAM)
s.bind(("", 44444))
while True:
    data, addr = s.recvfrom(1024)
    texto = data.decode().strip()
    if texto == ".":
        break
    s.sendto(data, addr)
    print("Message[" + addr[0] + ":" + str(addr[1]) + "] - " + texto)
s.close()
