"""The práctica's v1 echo server with udpeco as a drop-in: only the import changes.

    python examples/dropin_echo_server.py [PORT]      (default 44444; send '.' to stop it)

Every socket call below runs in Rust; the exceptions are the stdlib's own classes.
"""

import sys

import udpeco as socket  # was: import socket

HOST = ""  # all interfaces
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 44444

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind((HOST, PORT))
except socket.error as msg:  # the stdlib's OSError: errno and strerror as usual
    print("Fallo en bind. Codigo de Error : " + str(msg.errno) + " Mensaje " + msg.strerror)
    sys.exit(1)

while True:
    data, addr = s.recvfrom(1024)
    if data.strip() == b".":
        break
    s.sendto(data, addr)
    text = data.decode(errors="replace").strip()
    print("Message[" + addr[0] + ":" + str(addr[1]) + "] - " + text)
s.close()
