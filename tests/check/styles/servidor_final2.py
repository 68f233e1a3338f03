# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
# Final 2: no echo, another file name, the file opened for each message, settimeout(5).
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 55555))
s.settimeout(5)
open("registro.log", "w").close()
try:
    while True:
        data, addr = s.recvfrom(2048)
        with open("registro.log", "a") as f:
            f.write(data.decode().rstrip("\n") + "\n")
except socket.timeout:
    print("5 segundos sin mensajes: fichero terminado")
s.close()
