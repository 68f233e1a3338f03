"""``python -m udpeco.check._worker JSON``: runs one exercise's clauses, prints its JSON.

The parent (:mod:`udpeco.check.runner`) starts one worker per exercise, inside its own network
namespace when it can (``unshare --net``): the worker then brings its loopback up first. JSON
arguments: ``exercise``, ``folder``, ``python``, ``lang``, ``final2_file``, ``netns`` and
``env`` (variables added to the programs' clean environment; tests/lab sets UDPECO_BACKEND).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import struct
import sys
from typing import Any

from udpeco.check.library import EXERCISES
from udpeco.check.model import MISSING, Context, exercise_status, run_clause

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def loopback_up() -> None:
    """``ip link set lo up`` without iproute2 (a new network namespace starts with lo down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def run_exercise(args: dict[str, Any]) -> dict[str, Any]:
    ex = EXERCISES[args["exercise"]]
    lang = args["lang"]
    absent = [f for f in ex.files if not os.path.isfile(os.path.join(args["folder"], f))]
    result: dict[str, Any] = {"id": ex.id, "title": ex.title(lang), "files": list(ex.files)}
    checks: list[dict[str, Any] | None] = [None] * len(ex.clauses)
    for i, c in enumerate(ex.clauses):
        lacking = [f for f in c.needs if f in absent]
        if lacking:
            reason = ("no está: " if lang == "es" else "not found: ") + ", ".join(lacking)
            checks[i] = {
                "id": c.id,
                "title": c.title(lang),
                "status": MISSING,
                "reason": reason,
                "expected": ", ".join(c.needs),
                "got": "",
                "quote": c.quote,
                "duration_s": 0.0,
            }
    if any(check is None for check in checks):
        ctx = Context(
            args["folder"],
            args["python"],
            lang,
            args.get("final2_file"),
            env=args.get("env"),
            tmp_root=args.get("tmp"),
        )
        try:
            for i, c in enumerate(ex.clauses):
                if checks[i] is None:
                    checks[i] = run_clause(c, ctx)
        finally:
            ctx.close()
    result["checks"] = checks
    result["status"] = exercise_status(result["checks"])
    return result


def main() -> int:
    args = json.loads(sys.argv[1])
    # The parent stops a worker with SIGTERM: clean up (kill programs, remove temp files).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.get("netns"):
        loopback_up()
    print(json.dumps(run_exercise(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
