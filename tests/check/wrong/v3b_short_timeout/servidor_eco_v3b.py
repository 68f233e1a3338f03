# ruff: noqa
# A deliberately wrong student program (tests/check/test_wrong.py): WRONG says what is wrong.
# WRONG: settimeout(2.0) instead of 5.0.
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8888))
s.settimeout(2.0)
try:
    while 1:
        data, addr = s.recvfrom(1024)
        s.sendto(data, addr)
except socket.timeout as e:
    print("** Exception: socket" + str(s.getsockname()) + " " + str(e) + " after 2.0 seg.")
