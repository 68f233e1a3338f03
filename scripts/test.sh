#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian/Ubuntu machine, then runs every test:
# Rust (cargo test), the type stub check (mypy.stubtest) and Python (pytest).
# Usage (from the repository root):  bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need, listed in scripts/apt-packages.txt (real peers such as ncat,
# socat, nc and nmap, iproute2 for `ip netns`, ...): install the ones that are missing.
mapfile -t apt_pkgs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' scripts/apt-packages.txt)
missing=()
for pkg in "${apt_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The package itself (a release build by maturin) and the Python test tools.
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore ".[test]"

echo "== cargo test"
cargo test --quiet

echo "== mypy.stubtest"
(cd /tmp && python3 -m mypy.stubtest udpeco._udpeco --ignore-missing-stub)

echo "== pytest"
python3 -m pytest -q "$@"
