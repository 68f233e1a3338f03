#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian/Ubuntu machine, then runs every test:
# Rust (cargo test), the type stub check (mypy.stubtest) and Python (pytest).
#
# Usage (from the repository root):  bash scripts/test.sh [PYTEST ARGS...]
#
# Python: the virtual environment .venv of scripts/install.sh (the README's install command), so
# nothing is installed into the system's Python (Debian and Ubuntu refuse that: PEP 668).
# UDPECO_VENV=DIR picks another folder, PYTHON=EXE another interpreter to make it with.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
apt_updated=0
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if [ "$apt_updated" = 0 ]; then
        $SUDO apt-get update -qq
        apt_updated=1
    fi
    $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Debian packages the tests need, listed in scripts/apt-packages.txt (real peers such as ncat,
# socat, nc and nmap, iproute2 for `ip netns`, ...): install the ones that are missing.
mapfile -t apt_pkgs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' scripts/apt-packages.txt)
missing=()
for pkg in "${apt_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi

# udpeco and the test tools, in the same virtual environment as the README's install command
# (scripts/install.sh: .venv, made with the system's python3; nothing goes into the system).
bash scripts/install.sh test
VENV="${UDPECO_VENV:-.venv}"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
# CPython's own test suite (the drop-in conformance test runs parts of it): Debian's Python
# ships it separately, as libpythonX.Y-testsuite.
if ! python -c "import test.test_socket" 2>/dev/null; then
    ver="$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    apt_install "libpython${ver}-testsuite" || true
fi

echo "== cargo test"
cargo test --quiet

echo "== mypy.stubtest"
(cd /tmp && python -m mypy.stubtest udpeco._udpeco --ignore-missing-stub)

echo "== pytest"
if [ "$#" -gt 0 ]; then
    exec python -m pytest -q "$@"
fi
# The scans of rate-limited targets spend most of their minute and a half waiting for the
# target's ICMP budget (network namespaces of their own, little CPU): they run beside the rest.
slow=(tests/test_scan_ratelimit.py tests/test_scan_sources.py tests/test_scan_netns.py)
slow_log="$(mktemp)"
python -m pytest -q -p no:cacheprovider "${slow[@]}" >"$slow_log" 2>&1 &
slow_pid=$!
ignore=()
for f in "${slow[@]}"; do ignore+=(--ignore "$f"); done
rest=0
python -m pytest -q "${ignore[@]}" || rest=$?
slow_rc=0
wait "$slow_pid" || slow_rc=$?
echo "== pytest ${slow[*]} (ran beside the rest)"
cat "$slow_log"
rm -f "$slow_log"
[ "$rest" = 0 ] && [ "$slow_rc" = 0 ]
