# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
# Listado 3 in plain Python 3 with `from socket import *` and `from select import select`.
from select import select
from socket import *

s = socket(AF_INET, SOCK_DGRAM)
s2 = socket(AF_INET, SOCK_DGRAM)
s.bind(("", 8888))
s2.bind(("", 9999))
while 1:
    rlist, wlist, elist = select([s, s2], [], [], 5)
    if [rlist, wlist, elist] == [[], [], []]:
        print("Han pasado 5 seg sin recibir nada por ningún socket.\n")
    else:
        for sock in rlist:
            data, addr = sock.recvfrom(1024)
            print(
                "recibido en mi socket "
                + str(sock.getsockname())
                + " desde el origen "
                + addr[0]
                + ":"
                + str(addr[1])
                + ": "
                + data.decode()
            )
            sock.sendto(data, addr)
