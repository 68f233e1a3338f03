"""``udpeco check``: the práctica's checks, run on a student's own programs.

:mod:`.library` is the one library of práctica clauses (each defined once: id, Spanish and
English title, the práctica's sentence it checks, the function that checks it); :mod:`.runner`
runs a student's folder (one worker per exercise, each in its own network namespace when
possible); :mod:`.report` prints the verdicts. See docs/check.md.
"""
