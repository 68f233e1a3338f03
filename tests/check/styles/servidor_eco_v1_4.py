# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
# Exercise 4, the other reading: after answering a client the server sends it '.' too.
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 44444))
while True:
    data, addr = s.recvfrom(1024)
    s.sendto(data, addr)
    s.sendto(b".", addr)
    print("Message[" + addr[0] + ":" + str(addr[1]) + "] - " + data.decode().strip())
