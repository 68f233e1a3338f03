# ruff: noqa
# A deliberately wrong student program (tests/check/test_wrong.py): WRONG says what is wrong.
# WRONG: a stray loop prints without end before serving.
import select
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8888))
s2.bind(("", 9999))
while 1:
    rlist, _, _ = select.select([s, s2], [], [], 0)
    print("esperando datos en los sockets 8888 y 9999 ..................................")
    for sock in rlist:
        data, addr = sock.recvfrom(1024)
        sock.sendto(data, addr)
