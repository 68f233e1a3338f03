# ruff: noqa
# A deliberately wrong student program (tests/check/test_wrong.py): WRONG says what is wrong.
# WRONG: prints its own format instead of Message[ip:port] - data.
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 44444))
while True:
    data, addr = s.recvfrom(1024)
    if data.strip() == b".":
        break
    s.sendto(data, addr)
    print("He recibido", data.decode(), "de", addr)
