#!/usr/bin/env bash
# One entry point for a fresh Debian / Raspberry Pi OS machine that has only python3:
#   bash dev.sh demo    set everything up, then run the main job on its embedded default
#   bash dev.sh test    set everything up, then lint, type-check, check the layering and run
#                       the whole test suite
# Set-up is idempotent: a venv in .venv, the project installed editable with its dev extras,
# and the Debian packages the tests talk to (real parts, not mocks).
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
# Debian packages the test suite needs (services it starts on loopback or private buses).
TEST_APT_PACKAGES=(python3-venv dbus mosquitto systemd fakeroot shellcheck passwd libsystemd-dev pkg-config
    systemd-container debootstrap)

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

apt_install() {
    local missing=()
    for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
    ((${#missing[@]})) || return 0
    command -v apt-get >/dev/null || { echo "dev.sh: need Debian packages: ${missing[*]}" >&2; return 1; }
    echo "dev.sh: installing ${missing[*]}" >&2
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >&2
}

# setup [EXTRAS]: the venv and the project with its pyproject extras (default: dev). The test
# suite adds journald (systemd-python, built against libsystemd-dev: installed by apt first)
# and ble-client (bleak, driven against the GATT server through a fake bluetoothd).
setup() {
    local extras=${1:-dev}
    if [[ ! -x $VENV/bin/python ]]; then
        python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv && rm -rf "$VENV" && python3 -m venv "$VENV"; }
    fi
    local stamp=$VENV/.gatewayd-installed-${extras//,/-}
    if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[$extras]" >&2
        touch "$stamp"
    fi
}

cmd=${1:-}
shift || true
case "$cmd" in
    demo)
        setup
        exec "$VENV/bin/gatewayd" demo "$@"
        ;;
    test)
        apt_install "${TEST_APT_PACKAGES[@]}"
        setup dev,journald,ble-client
        "$VENV/bin/ruff" check .
        "$VENV/bin/ruff" format --check .
        "$VENV/bin/mypy"
        "$VENV/bin/lint-imports" --no-cache  # the layering contracts in pyproject.toml
        exec "$VENV/bin/pytest" "$@"
        ;;
    *)
        echo "usage: bash dev.sh demo | test [pytest args]" >&2
        exit 2
        ;;
esac
