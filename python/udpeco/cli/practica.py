"""``udpeco practica copy DIR``: the práctica's programs, as files a student edits and runs.

The programs installed with udpeco live in site-packages, where an edit is lost or ignored. This
command writes them (and ``backend.py``, the small module they share) into a folder of the
student's own, to edit and run there with ``python3 servidor_eco_v1.py``, on the stdlib or, with
``UDPECO_BACKEND=rust``, on udpeco's drop-ins. Existing files are never overwritten unless asked.
"""

from __future__ import annotations

import argparse
import shutil
from importlib import resources
from pathlib import Path

from udpeco.cli import fail

#: The package that holds the programs.
PACKAGE = "udpeco.practica3"
#: Modules of that package that are udpeco's own machinery, not práctica programs.
NOT_PROGRAMS = {"__init__.py", "harness.py", "scenarios.py"}


def programs() -> list[str]:
    """The file names copied: every lab program and ``backend.py``, sorted."""
    files = resources.files(PACKAGE)
    return sorted(
        f.name for f in files.iterdir() if f.name.endswith(".py") and f.name not in NOT_PROGRAMS
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the ``practica`` subcommand."""
    parser = subparsers.add_parser(
        "practica",
        help="copy the práctica's programs into a folder to edit and run",
        description="The práctica's programs as files of your own: copy them into a folder, "
        "edit them there and run them with python3.",
        epilog="examples:\n"
        "  udpeco practica copy mi_practica      # write the programs into ./mi_practica\n"
        "  cd mi_practica && python3 servidor_eco_v1.py\n"
        "  UDPECO_BACKEND=rust python3 servidor_eco_v1.py   # the same, on udpeco's socket\n"
        "  udpeco practica list                  # the files it writes",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    copy = actions.add_parser("copy", help="write the programs into DIR")
    copy.add_argument("dir", metavar="DIR", help="folder to write into (created if missing)")
    copy.add_argument(
        "--force", action="store_true", help="overwrite files that already exist in DIR"
    )
    copy.set_defaults(func=run_copy)
    listing = actions.add_parser("list", help="print the names of the files copy writes")
    listing.set_defaults(func=run_list)


def run_list(args: argparse.Namespace) -> int:
    """``udpeco practica list``."""
    for name in programs():
        print(name)
    return 0


def run_copy(args: argparse.Namespace) -> int:
    """``udpeco practica copy DIR [--force]``: nothing is overwritten without ``--force``."""
    dest = Path(args.dir)
    if dest.exists() and not dest.is_dir():
        return fail(f"practica copy: {dest} exists and is not a folder", 2)
    names = programs()
    existing = [n for n in names if (dest / n).exists()]
    if existing and not args.force:
        return fail(
            f"practica copy: {len(existing)} file(s) already in {dest} (e.g. {existing[0]}); "
            "nothing was written (--force overwrites them)",
            2,
        )
    dest.mkdir(parents=True, exist_ok=True)
    source = resources.files(PACKAGE)
    for name in names:
        with resources.as_file(source / name) as path:
            shutil.copyfile(path, dest / name)
    print(f"{len(names)} files written to {dest}/ . Run them from there, for example:")
    print(f"  cd {dest} && python3 servidor_eco_v1.py")
    return 0
