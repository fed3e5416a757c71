#!/usr/bin/env bash
# Remove gatewayd installed by deploy/install.sh. Keeps /etc/gatewayd (config and keys),
# /var/lib/gatewayd (outbox, state) and the gatewayd user unless --purge is given.
#
#   sudo deploy/uninstall.sh            stop, disable, remove the unit, udev rule and /opt/gatewayd
#   sudo deploy/uninstall.sh --purge    also remove config, keys, state and the service user
#
# Options:
#   --root DIR       uninstall from DIR instead of / (as install.sh --root)
#   --no-systemctl   do not talk to a running systemd
set -euo pipefail

ROOT=/
PURGE=0
USE_SYSTEMCTL=1

die() { echo "uninstall.sh: error: $*" >&2; exit 1; }
say() { echo "uninstall.sh: $*" >&2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }

while (($#)); do
    case $1 in
        --root) ROOT=${2:?--root needs a directory}; shift ;;
        --purge) PURGE=1 ;;
        --no-systemctl) USE_SYSTEMCTL=0 ;;
        -h | --help) usage 0 ;;
        *) echo "uninstall.sh: unknown option: $1" >&2; usage 2 ;;
    esac
    shift
done

[[ $(id -u) -eq 0 ]] || die "run as root (sudo $0 $*)"
ROOT=$(realpath -m "$ROOT")
[[ -d $ROOT ]] || die "$ROOT is not a directory"
[[ $ROOT == / ]] || USE_SYSTEMCTL=0
LIVE_SYSTEMD=0
if ((USE_SYSTEMCTL)) && [[ -d /run/systemd/system ]]; then LIVE_SYSTEMD=1; fi

R() { printf '%s%s' "${ROOT%/}" "$1"; }
UNIT=$(R /etc/systemd/system/gatewayd.service)
PREFIX_ARGS=()
[[ $ROOT == / ]] || PREFIX_ARGS=(--prefix "$ROOT")

if ((LIVE_SYSTEMD)); then
    systemctl disable --now gatewayd.service 2>/dev/null || true
elif [[ -e $UNIT ]]; then
    systemctl --root="$ROOT" disable gatewayd.service 2>/dev/null || true
fi
rm -f "$UNIT" "$(R /etc/udev/rules.d/99-gatewayd-wmbus.rules)" "$(R /etc/modules-load.d/gatewayd.conf)"
rm -rf "$(R /etc/systemd/system/gatewayd.service.d)" "$(R /opt/gatewayd)"
rm -rf "$(R /var/cache/gatewayd)"  # the parsed-config cache: made again at the next start
if ((LIVE_SYSTEMD)); then
    systemctl daemon-reload
    if command -v udevadm >/dev/null && udevadm control --ping 2>/dev/null; then
        udevadm control --reload-rules
    else
        say "systemd-udevd is not running here: skipped udevadm control"
    fi
fi
say "removed the service, udev rule, /opt/gatewayd and /var/cache/gatewayd"

if ((PURGE)); then
    rm -rf "$(R /etc/gatewayd)" "$(R /var/lib/gatewayd)"
    if awk -F: '$1 == "gatewayd" { found = 1 } END { exit !found }' "$(R /etc/passwd)"; then
        userdel "${PREFIX_ARGS[@]}" gatewayd
    fi
    # userdel removes the user's own group; remove it if it is still there.
    if awk -F: '$1 == "gatewayd" { found = 1 } END { exit !found }' "$(R /etc/group)"; then
        groupdel "${PREFIX_ARGS[@]}" gatewayd
    fi
    say "purged /etc/gatewayd, /var/lib/gatewayd and the gatewayd user"
else
    say "kept /etc/gatewayd (config, keys), /var/lib/gatewayd and the gatewayd user (--purge removes them)"
fi
