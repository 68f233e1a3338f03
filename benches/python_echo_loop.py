"""The práctica's v1 echo server loop in pure Python, without the per-datagram print.

The yardstick `udpeco serve --quiet` is held against (benches/echo_bench.py):
``python benches/python_echo_loop.py [PORT]`` (44444 by default).
"""

import socket
import sys

HOST = ""  # all interfaces, as the práctica
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 44444

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((HOST, PORT))
try:
    while True:
        d = s.recvfrom(1024)
        data = d[0]
        addr = d[1]
        if data.strip() == b".":
            break
        reply = data
        s.sendto(reply, addr)
except KeyboardInterrupt:
    pass
s.close()
