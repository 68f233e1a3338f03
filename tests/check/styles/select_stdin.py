# ruff: noqa
# A student-style program (tests/check): its style is kept on purpose.
import select
import sys
import time

rlist, wlist, elist = select.select([sys.stdin], [], [], 3)
print(str(time.time()) + str(rlist))
if rlist:
    print(rlist[0].read())
else:
    print("No has escrito nada en 3 segundos")
