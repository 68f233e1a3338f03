"""``udpeco check [PATH ...]``: the práctica's checks run on a student's own programs.

Finds the práctica's programs by their file names, runs each as a real process with the
student's interpreter, and prints one line per check of the práctica (Spanish by default) and
a summary. Exit code 0 only when every program found passes. ``--class`` checks a folder of
students (one subfolder each). See docs/check.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from udpeco.cli import fail

#: Students checked at once in ``--class`` mode (when exercises run in their own namespaces).
STUDENTS_AT_ONCE = 3


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the ``check`` subcommand."""
    from udpeco.check.library import EXERCISES

    p = subparsers.add_parser(
        "check",
        help="run the práctica's checks on a student's own programs (or a class)",
        description=(
            "Run the práctica's checks on the programs in PATH (default: the current folder), "
            "found by the práctica's file names. Each runs as a real process with plain "
            "python3 (--python to choose another). Exit code 0 only when every program found "
            "passes."
        ),
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="folder or files (default: .)")
    p.add_argument(
        "--exercise",
        action="append",
        default=[],
        metavar="ID",
        help="only this exercise (repeatable): " + ", ".join(EXERCISES),
    )
    p.add_argument("--lang", choices=("es", "en"), default="es", help="output language (es)")
    p.add_argument(
        "--python",
        metavar="EXE",
        default=None,
        help="interpreter for the programs (the python3 on PATH outside udpeco's virtualenv)",
    )
    p.add_argument(
        "--final2-file",
        metavar="NAME",
        default=None,
        help="the file servidor_final2.py writes (default: the new file it creates)",
    )
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")
    p.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    p.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    p.add_argument("--csv", metavar="FILE", help="(--class) write the class table as CSV")
    p.add_argument(
        "--class",
        dest="klass",
        action="store_true",
        help="PATH is a class: one subfolder per student",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show what passing checks saw")
    p.set_defaults(func=run)


def _write_outputs(args: argparse.Namespace, rows: list[tuple[str, dict[str, Any]]]) -> None:
    """Writes --json/--csv/--junit/--html (the renderers live in udpeco.check.classreport)."""
    from udpeco.check import classreport as cr

    if args.json:
        if args.klass:
            cr.write_json(args.json, rows)
        else:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(rows[0][1], f, ensure_ascii=False, indent=2)
                f.write("\n")
    for opt in ("csv", "junit", "html"):
        path = getattr(args, opt)
        if not path:
            continue
        if opt == "html":
            cr.write_html(path, rows, args.lang)
        else:
            getattr(cr, f"write_{opt}")(path, rows)


def run(args: argparse.Namespace) -> int:
    from udpeco.check import report
    from udpeco.check.library import EXERCISES
    from udpeco.check.runner import (
        UserError,
        check_folder,
        default_python,
        find_programs,
        netns_prefix,
        resolve_python,
        select_exercises,
        stop_all,
    )

    try:
        if args.csv and not args.klass:
            raise UserError("--csv needs --class")
        for ex_id in args.exercise:
            if ex_id not in EXERCISES:
                raise UserError(f"--exercise {ex_id}: unknown (one of: {', '.join(EXERCISES)})")
        if args.python:
            python, version = resolve_python(args.python)
        if args.klass:
            if len(args.paths) != 1 or not os.path.isdir(args.paths[0]):
                raise UserError("--class needs one folder (one subfolder per student)")
            base = args.paths[0]
            students = sorted(
                d
                for d in os.listdir(base)
                if os.path.isdir(os.path.join(base, d)) and not d.startswith(".")
            )
            if not students:
                raise UserError(f"{base}: no student subfolders")
            exercises = select_exercises(base, None, args.exercise)
        else:
            folder, files = find_programs(args.paths)
            exercises = select_exercises(folder, files, args.exercise)
            from udpeco.check.library import FILES

            if not any(os.path.isfile(os.path.join(folder, f)) for f in FILES):
                raise UserError(
                    f"{folder}: none of the práctica's programs is there "
                    f"({', '.join(FILES[:3])}...)"
                )
        if not args.python:
            python, version = resolve_python(default_python())
    except UserError as e:
        return fail(str(e), 2)
    shown = f"{python} ({version})"
    prefix = netns_prefix()
    rows: list[tuple[str, dict[str, Any]]] = []
    if args.klass:
        # Students a few at a time when each exercise has its own namespace (no clash).
        from concurrent.futures import ThreadPoolExecutor

        def one(name: str) -> dict[str, Any]:
            rep = check_folder(
                os.path.join(base, name),
                exercises,
                python,
                args.lang,
                args.final2_file,
                student=name,
                isolation=prefix,
            )
            rep["python"] = shown
            print(f"{name}: {report.summary(rep)}", flush=True)
            return rep

        with ThreadPoolExecutor(max_workers=STUDENTS_AT_ONCE if prefix else 1) as pool:
            try:
                rows = list(zip(students, pool.map(one, students)))
            except KeyboardInterrupt:  # Ctrl+C: stop every worker, then let the pool end
                stop_all()
                pool.shutdown(cancel_futures=True)
                raise
        print(report.class_table(rows, args.lang))
        if rows:
            print(report.isolation_text(rows[0][1]))
    else:
        rep = check_folder(folder, exercises, python, args.lang, args.final2_file, isolation=prefix)
        rep["python"] = shown
        rows.append((os.path.basename(folder) or folder, rep))
        print(report.render(rep, args.verbose))
    _write_outputs(args, rows)
    bad = any(ex["status"] == "fail" for _, rep in rows for ex in rep["exercises"])
    sys.stdout.flush()
    return 1 if bad else 0
