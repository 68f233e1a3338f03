# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
import select
import socket
import time

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8888))
s2.bind(("", 9999))
while 1:
    rlist, wlist, elist = select.select([s, s2], [], [], 5)
    if not rlist:
        print("Han pasado 5 seg sin recibir nada por ningun socket.")
    for sock in rlist:
        data, addr = sock.recvfrom(1024)
        print("recibido: " + data.decode())
        time.sleep(3)
        sock.sendto(data, addr)
