# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
# Exercise 9 with a clock instead of a count of empty selects.
import select
import socket
import time

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8888))
s2.bind(("", 9999))
ultimo = time.time()
while True:
    rlist, _, _ = select.select([s, s2], [], [], 5)
    if not rlist:
        if time.time() - ultimo >= 20:
            print("20 segundos sin recibir nada: cierro")
            break
        print("Han pasado 5 seg sin recibir nada por ningun socket.")
        continue
    ultimo = time.time()
    for sock in rlist:
        data, addr = sock.recvfrom(1024)
        print("recibido", data.decode(), "de", addr)
        sock.sendto(data, addr)
s.close()
s2.close()
