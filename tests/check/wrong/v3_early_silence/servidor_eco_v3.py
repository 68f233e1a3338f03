# ruff: noqa
# A deliberately wrong student program (tests/check/test_wrong.py): WRONG says what is wrong.
# WRONG: select waits 2 s, so the "5 seg" message comes after 2 s.
import select
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8888))
s2.bind(("", 9999))
while 1:
    rlist, wlist, elist = select.select([s, s2], [], [], 2)
    if not rlist:
        print("Han pasado 5 seg sin recibir nada por ningun socket.")
    for sock in rlist:
        data, addr = sock.recvfrom(1024)
        print("recibido: " + data.decode())
        sock.sendto(data, addr)
