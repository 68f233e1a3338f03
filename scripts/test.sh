#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian/Ubuntu machine, then runs every test:
# Rust (cargo test), the type stub check (mypy.stubtest) and Python (pytest).
# Usage (from the repository root):  bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Real peers the tests talk to: ncat, socat, OpenBSD nc and nmap (plus iproute2 for `ip netns`).
need_apt=0
for tool in ncat socat nc.openbsd nmap ip; do
    command -v "$tool" >/dev/null 2>&1 || need_apt=1
done
if [ "$need_apt" = 1 ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends \
        ncat socat netcat-openbsd nmap iproute2 procps >/dev/null
fi

# The package itself (a release build by maturin) and the Python test tools.
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore ".[test]"

echo "== cargo test"
cargo test --quiet

echo "== mypy.stubtest"
(cd /tmp && python3 -m mypy.stubtest udpeco._udpeco --ignore-missing-stub)

echo "== pytest"
python3 -m pytest -q "$@"
