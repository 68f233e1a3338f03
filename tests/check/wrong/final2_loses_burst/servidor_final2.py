# ruff: noqa
# A deliberately wrong student program (tests/check/test_wrong.py): WRONG says what is wrong.
# WRONG: a tiny receive buffer and a slow write: most of a burst is dropped by the kernel.
import select
import socket
import time

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
s.bind(("", 44444))
f = open("mensajes.txt", "w")
while True:
    r, _, _ = select.select([s], [], [], 5)
    if not r:
        break
    data, addr = s.recvfrom(1024)
    f.write(data.decode().strip() + "\n")
    time.sleep(0.01)
f.close()
