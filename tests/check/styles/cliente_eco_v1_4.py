# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:
    msg = input("Enter message to send : ")
    s.sendto(msg.encode(), (host, port))
    reply, addr = s.recvfrom(1024)
    if reply.decode().strip() == ".":
        print("El servidor ha dicho '.': adios")
        break
    print("Server reply : " + reply.decode())
s.close()
