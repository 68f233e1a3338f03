"""``udpeco check``: the práctica's checks run on a student's own programs.

(Minimal placeholder so that ``udpeco.check.classreport`` imports; the checker itself lives in
this package on the ``check`` branch.)
"""
