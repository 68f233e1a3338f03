# ruff: noqa
# A deliberately wrong student program (tests/check/test_wrong.py): WRONG says what is wrong.
# WRONG: writes each message without a newline: all messages end up on one line.
import select
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 44444))
f = open("mensajes.txt", "w")
while True:
    r, _, _ = select.select([s], [], [], 5)
    if not r:
        break
    data, addr = s.recvfrom(1024)
    f.write(data.decode().strip())
f.close()
