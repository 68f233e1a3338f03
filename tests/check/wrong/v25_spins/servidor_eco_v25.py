# ruff: noqa
# A deliberately wrong student program (tests/check/test_wrong.py): WRONG says what is wrong.
# WRONG: non-blocking, but it retries at once: a busy loop at 100% of a core.
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 44444))
s.setblocking(0)
while True:
    try:
        data, addr = s.recvfrom(1024)
    except BlockingIOError:
        print("recepción fallida")
        continue
    s.sendto(data, addr)
