# ruff: noqa
# A deliberately wrong student program (tests/check/test_wrong.py): WRONG says what is wrong.
# WRONG: waits for the reply on a new socket that nobody writes to: it hangs.
import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while 1:
    msg = input("Enter message to send : ")
    s.sendto(msg.encode(), (host, port))
    otro = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    otro.bind(("", 0))
    reply = otro.recv(1024)
    print("Server reply : " + reply.decode())
