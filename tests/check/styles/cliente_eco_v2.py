# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
import socket
import sys

try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
except socket.error as msg:
    print("Fallo al crear el socket. Codigo de Error : " + str(msg.errno))
    sys.exit()
host, port = sys.argv[1], int(sys.argv[2])
while True:
    try:
        msg = input("Enter message to send : ")
    except EOFError:
        break
    try:
        s.sendto(msg.encode(), (host, port))
        d = s.recvfrom(1024)
        print("Server reply : " + d[0].decode())
    except socket.error as msg:
        print("Codigo de Error : " + str(msg.errno) + " Mensaje " + msg.strerror)
        sys.exit()
