# ruff: noqa
# A deliberately wrong student program (tests/check/test_wrong.py): WRONG says what is wrong.
# WRONG: every reply leaves from the first socket (8888), also for what came to 9999.
import select
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8888))
s2.bind(("", 9999))
while 1:
    rlist, wlist, elist = select.select([s, s2], [], [], 5)
    if [rlist, wlist, elist] == [[], [], []]:
        print("Han pasado 5 seg sin recibir nada por ningun socket.\n")
    for sock in rlist:
        data, addr = sock.recvfrom(1024)
        print("recibido en mi socket " + str(sock.getsockname()) + ": " + data.decode())
        s.sendto(data, addr)
