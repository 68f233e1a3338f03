# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
import socket
import sys

TIMEOUT = 5.0
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 8888))
s.settimeout(TIMEOUT)
try:
    while 1:
        data, addr = s.recvfrom(1024)
        print("recibido desde " + addr[0] + ":" + str(addr[1]) + ": " + data.decode())
        s.sendto(data, addr)
except socket.timeout as msg:
    print(
        "** Exception: socket"
        + str(s.getsockname())
        + " "
        + str(msg)
        + " after "
        + str(TIMEOUT)
        + " seg."
    )
    s.close()
    sys.exit()
