# ruff: noqa
# A deliberately wrong student program (tests/check/test_wrong.py): WRONG says what is wrong.
# WRONG: the client ignores the '.' and keeps asking.
import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:
    msg = input("Enter message to send : ")
    s.sendto(msg.encode(), (host, port))
    reply, addr = s.recvfrom(1024)
    print("Server reply : " + reply.decode())
