# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
# Listado 2 in plain Python 3; the reply is read with recv (the sender is not needed).
import socket
import sys

if len(sys.argv) != 3:
    print("Usage: python %s <HostName> <PortNumber>" % sys.argv[0])
    sys.exit()
host = sys.argv[1]
port = int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while 1:
    msg = input("Enter message to send : ")
    s.sendto(msg.encode(), (host, port))
    reply = s.recv(1024)
    print("Server reply : " + reply.decode())
s.close()
