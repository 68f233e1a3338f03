#!/usr/bin/env bash
# Installs udpeco into a virtual environment, .venv in the repository root, made with the
# system's python3 (Debian and Ubuntu refuse `pip install` outside one: PEP 668). Run it from
# anywhere; afterwards run `.venv/bin/udpeco ...` or `. .venv/bin/activate` first.
#
# Usage:  bash scripts/install.sh [EXTRA]    EXTRA: "test" also installs the test tools
# Env:    UDPECO_VENV=DIR (default .venv), PYTHON=EXE (default python3) to make it with.
# Needs:  Python 3.9+ and a Rust toolchain (cargo) for the build; on Debian/Ubuntu it installs
#         python3-venv with apt-get when venv is missing (as root or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${UDPECO_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
        # Debian/Ubuntu ship venv (ensurepip) as a separate package.
        rm -rf "$VENV"
        SUDO=""
        [ "$(id -u)" = 0 ] || SUDO="sudo"
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
            python3-venv >/dev/null
        "$PYTHON" -m venv "$VENV"
    fi
fi
target="."
[ "${1:-}" = "test" ] && target=".[test]"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$target"
echo "udpeco $("$VENV/bin/python" -c 'import udpeco; print(udpeco.__version__)') installed in $VENV (run $VENV/bin/udpeco, or . $VENV/bin/activate first)"
