# ruff: noqa
# A deliberately wrong student program (tests/check/test_wrong.py): WRONG says what is wrong.
# WRONG: finds the server but never prints its port.
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for port in range(20000, 20101):
    s.sendto(b"hola", (sys.argv[1], port))
    try:
        s.recvfrom(1024)
        print("servidor encontrado")
        break
    except socket.timeout:
        pass
