"""The select-on-stdin example: ``select_stdin.py``.

Waits with ``select.select([sys.stdin], [], [], 3)`` for the user to type a line. If a line
arrives within 3 s (times ``PRACTICA_TIMEOUT_SCALE``) it prints the time, the list select
returned and the line; otherwise the time, the empty list and a message (exit code 1).
Backend: ``UDPECO_BACKEND`` (udpeco's select accepts ``sys.stdin`` like the stdlib's).
"""

import sys
import time

try:
    from udpeco.practica3.backend import fmt, run, segundos, select
except ImportError:  # run as a script from a checkout where udpeco is not installed
    from backend import fmt, run, segundos, select

PLAZO = segundos(3)


def main():
    print("Escribe algo (tienes " + fmt(PLAZO) + " seg):")
    rlist, wlist, elist = select.select([sys.stdin], [], [], PLAZO)
    print(str(time.time()) + str(rlist))
    if not rlist:
        print("Han pasado " + fmt(PLAZO) + " seg y no has escrito nada.")
        return 1
    print(rlist[0].readline(), end="")


if __name__ == "__main__":
    run(main)
