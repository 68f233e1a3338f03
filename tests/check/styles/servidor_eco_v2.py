# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
import socket
import sys

HOST, PORT = "", 44444
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
except OSError as msg:
    print(
        "Fallo al crear el socket. Codigo de Error : " + str(msg.errno) + " Mensaje " + msg.strerror
    )
    sys.exit()
try:
    s.bind((HOST, PORT))
except socket.error as msg:
    print("Fallo en bind. Codigo de Error : " + str(msg.errno) + " Mensaje " + msg.strerror)
    sys.exit()
while 1:
    data, addr = s.recvfrom(1024)
    if data.strip() == b".":
        break
    try:
        s.sendto(data, addr)
    except socket.error as msg:
        print("Fallo en sendto. Codigo de Error : " + str(msg.errno))
    print("Message[" + addr[0] + ":" + str(addr[1]) + "] - " + data.decode().strip())
s.close()
