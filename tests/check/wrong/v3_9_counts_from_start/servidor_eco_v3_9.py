# ruff: noqa
# A deliberately wrong student program (tests/check/test_wrong.py): WRONG says what is wrong.
# WRONG: counts the empty selects since the start: a message does not restart the 20 s.
import select
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8888))
s2.bind(("", 9999))
vacios = 0
while vacios < 4:
    rlist, _, _ = select.select([s, s2], [], [], 5)
    if not rlist:
        vacios += 1
        print("Han pasado 5 seg sin recibir nada por ningun socket.")
    for sock in rlist:
        data, addr = sock.recvfrom(1024)
        sock.sendto(data, addr)
s.close()
s2.close()
