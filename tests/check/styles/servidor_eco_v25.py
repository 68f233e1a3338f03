# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
import socket
import time

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 44444))
s.setblocking(False)
while True:
    try:
        data, addr = s.recvfrom(1024)
    except BlockingIOError:
        print("recepción fallida")
        time.sleep(0.2)
        continue
    s.sendto(data, addr)
    print("Message[" + addr[0] + ":" + str(addr[1]) + "] - " + data.decode().strip())
