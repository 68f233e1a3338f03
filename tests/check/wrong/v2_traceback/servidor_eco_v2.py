# ruff: noqa
# A deliberately wrong student program (tests/check/test_wrong.py): WRONG says what is wrong.
# WRONG: v2 without the try around bind: a second server dies in a traceback.
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 44444))
while 1:
    data, addr = s.recvfrom(1024)
    if data.strip() == b".":
        break
    s.sendto(data, addr)
    print("Message[" + addr[0] + ":" + str(addr[1]) + "] - " + data.decode().strip())
