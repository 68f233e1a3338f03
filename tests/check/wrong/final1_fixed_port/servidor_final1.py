# ruff: noqa
# A deliberately wrong student program (tests/check/test_wrong.py): WRONG says what is wrong.
# WRONG: imports random but always uses the same port.
import random
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 20050))
while True:
    data, addr = s.recvfrom(1024)
    s.sendto(data, addr)
