#!/usr/bin/env bash
# Install or upgrade gatewayd from this checkout on Raspberry Pi OS bookworm (64-bit).
# Idempotent: run it again after `git pull` to upgrade; an unchanged checkout changes nothing.
#
#   sudo deploy/install.sh                    install / upgrade, then (re)start the service
#   sudo deploy/install.sh --rollback         switch back to the previous release
#   sudo deploy/install.sh --radio-serial S   tie /dev/wmbus0 to the USB radio with serial S
#
# Options:
#   --root DIR          install into DIR instead of / (an image or a test tree). Implies no apt
#                       and no live systemctl; the unit is enabled with `systemctl --root`.
#   --src DIR           the checkout to install (default: the one holding this script)
#   --python PATH       the interpreter for the venv (default: python3)
#   --radio-serial S    add ATTRS{serial}=="S" to the udev rules (see 99-gatewayd-wmbus.rules)
#   --mqtt-password-file F   install F ("-": stdin) as /etc/gatewayd/mqtt-password (root, 0600):
#                       the MQTT password, first line; the service reads its copy, never config.toml
#   --mqtt-client-key F install F as /etc/gatewayd/mqtt-client.key (root, 0600): the TLS client key
#   --no-apt            do not install Debian packages
#   --no-systemctl      do not talk to a running systemd (no reload, restart, udev trigger)
#   --rebuild           build a fresh release even if this source is already installed
#   --rollback          make the previous release current again (and the current one previous)
# Environment:
#   GATEWAYD_PIP_ARGS   extra arguments for pip install, e.g. "--no-index --find-links /media/wheels"
#
# Layout: /opt/gatewayd/releases/<version>-<source hash>/ are venvs; /opt/gatewayd/venv and
# /opt/gatewayd/venv.prev are relative symlinks to the current and previous release.
set -euo pipefail

APT_PACKAGES=(python3 python3-venv python3-systemd bluez dbus)
SERVICE_USER=gatewayd
SERVICE_GROUPS=(dialout bluetooth)

ROOT=/
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=python3
RADIO_SERIAL=
MQTT_PASSWORD_FILE=
MQTT_CLIENT_KEY=
USE_APT=1
USE_SYSTEMCTL=1
REBUILD=0
ROLLBACK=0

die() { echo "install.sh: error: $*" >&2; exit 1; }
say() { echo "install.sh: $*" >&2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }

while (($#)); do
    case $1 in
        --root) ROOT=${2:?--root needs a directory}; shift ;;
        --src) SRC=${2:?--src needs a directory}; shift ;;
        --python) PYTHON=${2:?--python needs a path}; shift ;;
        --radio-serial) RADIO_SERIAL=${2:?--radio-serial needs a serial}; shift ;;
        --mqtt-password-file) MQTT_PASSWORD_FILE=${2:?--mqtt-password-file needs a file or -}; shift ;;
        --mqtt-client-key) MQTT_CLIENT_KEY=${2:?--mqtt-client-key needs a file}; shift ;;
        --no-apt) USE_APT=0 ;;
        --no-systemctl) USE_SYSTEMCTL=0 ;;
        --rebuild) REBUILD=1 ;;
        --rollback) ROLLBACK=1 ;;
        -h | --help) usage 0 ;;
        *) echo "install.sh: unknown option: $1" >&2; usage 2 ;;
    esac
    shift
done

[[ $(id -u) -eq 0 ]] || die "run as root (sudo $0 $*)"
[[ $RADIO_SERIAL =~ ^[A-Za-z0-9._:-]+$ || -z $RADIO_SERIAL ]] ||
    die "--radio-serial: only letters, digits and . _ : - are allowed"
ROOT=$(realpath -m "$ROOT")
if [[ $ROOT != / ]]; then
    mkdir -p "$ROOT"
    USE_APT=0
    USE_SYSTEMCTL=0
fi
# A systemd we can talk to: PID 1 is systemd (the check sd_booted() makes).
LIVE_SYSTEMD=0
if ((USE_SYSTEMCTL)) && [[ -d /run/systemd/system ]]; then LIVE_SYSTEMD=1; fi

R() { printf '%s%s' "${ROOT%/}" "$1"; } # a path on the target system
OPT=$(R /opt/gatewayd)
ETC=$(R /etc/gatewayd)
STATE=$(R /var/lib/gatewayd)
UNIT=$(R /etc/systemd/system/gatewayd.service)
UDEV_RULE=$(R /etc/udev/rules.d/99-gatewayd-wmbus.rules)

PREFIX_ARGS=() # shadow's useradd/groupadd/usermod edit the target's /etc files
[[ $ROOT == / ]] || PREFIX_ARGS=(--prefix "$ROOT")
target_id() { # target_id passwd|group NAME -> numeric id from the target's own files
    awk -F: -v n="$2" '$1 == n { print $3; found = 1 } END { exit !found }' "$(R /etc/"$1")"
}

check_config() { # check_config RELEASE_DIR: validate as the service will see it
    local bin=$1/bin/gatewayd
    say "checking the configuration: gatewayd check-config --config /etc/gatewayd/config.toml"
    [[ -x $bin ]] || die "$bin is missing"
    # Under systemd the keys arrive as $CREDENTIALS_DIRECTORY/keys.toml (LoadCredential=).
    if ! CREDENTIALS_DIRECTORY=$ETC "$bin" check-config --config "$ETC/config.toml"; then
        die "gatewayd check-config failed (see above); fix $ETC/config.toml or keys.toml and run install.sh again"
    fi
    say "check-config: ok"
}

restart_service() {
    if ((LIVE_SYSTEMD)); then
        systemctl daemon-reload
        systemctl enable gatewayd.service
        # Type=notify: returns once the daemon has reported READY=1
        systemctl restart gatewayd.service ||
            die "gatewayd did not start: journalctl -u gatewayd -n 50 (install.sh --rollback goes back)"
        systemctl --no-pager --lines=5 status gatewayd.service >&2 || true
    else
        systemctl --root="$ROOT" enable gatewayd.service
        say "systemd is not running here: enabled gatewayd.service; it starts on the next boot"
    fi
}

# ---------------------------------------------------------------- rollback
if ((ROLLBACK)); then
    [[ -L $OPT/venv.prev ]] || die "no previous release to roll back to ($OPT/venv.prev missing)"
    cur=$(readlink "$OPT/venv")
    prev=$(readlink "$OPT/venv.prev")
    [[ -x $OPT/$prev/bin/gatewayd ]] || die "previous release $prev is incomplete"
    check_config "$OPT/$prev"
    ln -sfn "$prev" "$OPT/.venv.new" && mv -Tf "$OPT/.venv.new" "$OPT/venv"
    ln -sfn "$cur" "$OPT/.venv.new" && mv -Tf "$OPT/.venv.new" "$OPT/venv.prev"
    say "rolled back: venv -> $prev (venv.prev -> $cur; run --rollback again to undo)"
    restart_service
    exit 0
fi

# ---------------------------------------------------------------- packages
[[ -f $SRC/pyproject.toml && -d $SRC/gatewayd ]] || die "$SRC is not a gatewayd checkout"
for f in systemd/gatewayd.service deploy/99-gatewayd-wmbus.rules deploy/config.toml deploy/gatewayd-credentials \
    deploy/modules-load.conf; do
    [[ -f $SRC/$f ]] || die "$SRC/$f is missing"
done
if ((USE_APT)); then
    say "installing Debian packages: ${APT_PACKAGES[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${APT_PACKAGES[@]}" >&2
fi

# ---------------------------------------------------------------- user and groups
# Group gatewayd: the service's own, and who may read its listen socket (`gatewayd listen`).
for g in "${SERVICE_GROUPS[@]}" "$SERVICE_USER"; do
    target_id group "$g" >/dev/null || groupadd --system "${PREFIX_ARGS[@]}" "$g"
done
if target_id passwd "$SERVICE_USER" >/dev/null; then
    usermod "${PREFIX_ARGS[@]}" --append --groups "$(IFS=,; echo "${SERVICE_GROUPS[*]}")" "$SERVICE_USER"
else
    say "creating system user $SERVICE_USER"
    useradd --system "${PREFIX_ARGS[@]}" --gid "$SERVICE_USER" --no-create-home --home-dir /var/lib/gatewayd \
        --shell /usr/sbin/nologin --comment "gatewayd wM-Bus gateway" \
        --groups "$(IFS=,; echo "${SERVICE_GROUPS[*]}")" "$SERVICE_USER"
fi
SVC_UID=$(target_id passwd "$SERVICE_USER")
SVC_GID=$(target_id group "$SERVICE_USER")

# ---------------------------------------------------------------- directories
install -d -m 0755 -o 0 -g 0 "$OPT" "$OPT/releases" "$ETC"
install -d -m 0750 -o "$SVC_UID" -g "$SVC_GID" "$STATE"

# ---------------------------------------------------------------- release (venv)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# Build from a copy of what the package needs, so pip never writes into the checkout.
(cd "$SRC" && tar --exclude=__pycache__ --exclude='*.pyc' -cf - pyproject.toml README.md gatewayd) |
    tar -C "$stage" -xf -
version=$("$PYTHON" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$stage/pyproject.toml")
pyver=$("$PYTHON" -c 'import sys; print(sys.version)')
hash=$( (cd "$stage" && find . -type f -print0 | sort -z | xargs -0 sha256sum; echo "$pyver") | sha256sum | cut -c1-12)
release=releases/$version-$hash
if ((REBUILD)) || [[ ! -f $OPT/$release/.gatewayd-release ]]; then
    say "building $release (python: $PYTHON)"
    rm -rf "${OPT:?}/$release"
    # System site-packages: Debian's python3-systemd (journald) is used from there.
    "$PYTHON" -m venv --system-site-packages "$OPT/$release"
    # shellcheck disable=SC2086  # GATEWAYD_PIP_ARGS is a word list on purpose
    "$OPT/$release/bin/python" -m pip install --quiet --disable-pip-version-check \
        ${GATEWAYD_PIP_ARGS:-} "$stage" >&2
    # Bytecode for every module, written now whatever pip was told: the service cannot write
    # under /opt (ProtectSystem=strict), and without .pyc files every start compiles each
    # module again (about 3 s instead of about 1 s to READY on a Pi Zero 2 W class core).
    "$OPT/$release/bin/python" -m compileall -q "$OPT/$release/lib" >&2
    printf 'version=%s\nsource=%s\nhash=%s\n' "$version" "$SRC" "$hash" >"$OPT/$release/.gatewayd-release"
else
    say "$release is already built"
fi

# ---------------------------------------------------------------- configuration, keys
if [[ ! -e $ETC/config.toml ]]; then
    host=$(cat "$(R /etc/hostname)" 2>/dev/null || hostname)
    [[ $host =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || host=gateway
    sed "s/^id = \"gateway\" /id = \"$host\" /" "$SRC/deploy/config.toml" >"$stage/config.toml"
    install -m 0644 -o 0 -g 0 "$stage/config.toml" "$ETC/config.toml"
    say "wrote $ETC/config.toml (gateway id \"$host\"): add your meters there"
fi
if [[ ! -e $ETC/keys.toml ]]; then
    printf '# gatewayd keys: meter id -> AES-128 key (32 hex digits). Keep this file mode 0600.\n[keys]\n' \
        >"$stage/keys.toml"
    install -m 0600 -o 0 -g 0 "$stage/keys.toml" "$ETC/keys.toml"
    say "wrote an empty $ETC/keys.toml"
fi
install_secret() { # install_secret SOURCE NAME: a root-only file beside keys.toml
    local src=$1 dest=$ETC/$2
    if [[ $src == - ]]; then
        src=$stage/$2
        (umask 077 && cat >"$src")
    fi
    [[ -f $src && -s $src ]] || die "$1: not a non-empty file (for $dest)"
    install -m 0600 -o 0 -g 0 "$src" "$dest"
    say "wrote $dest (root, 0600; the service gets a copy at start and reload)"
}
[[ -z $MQTT_PASSWORD_FILE ]] || install_secret "$MQTT_PASSWORD_FILE" mqtt-password
[[ -z $MQTT_CLIENT_KEY ]] || install_secret "$MQTT_CLIENT_KEY" mqtt-client.key
for f in keys.toml mqtt-password mqtt-client.key; do
    [[ -e $ETC/$f ]] || continue
    chown 0:0 "$ETC/$f"
    chmod 0600 "$ETC/$f"
done

# ---------------------------------------------------------------- udev rule, unit, docs
if [[ -n $RADIO_SERIAL ]]; then
    sed "/^SUBSYSTEM==/ s/, SYMLINK+=/, ATTRS{serial}==\"$RADIO_SERIAL\", SYMLINK+=/" \
        "$SRC/deploy/99-gatewayd-wmbus.rules" >"$stage/udev.rules"
else
    cp "$SRC/deploy/99-gatewayd-wmbus.rules" "$stage/udev.rules"
fi
install -D -m 0644 -o 0 -g 0 "$stage/udev.rules" "$UDEV_RULE"
install -D -m 0644 -o 0 -g 0 "$SRC/systemd/gatewayd.service" "$UNIT"
if [[ -f $SRC/docs/deploy.md ]]; then
    install -D -m 0644 -o 0 -g 0 "$SRC/docs/deploy.md" "$OPT/docs/deploy.md"
fi
install -D -m 0755 -o 0 -g 0 "$SRC/deploy/gatewayd-credentials" "$(R /opt/gatewayd/libexec/gatewayd-credentials)"
# The usual USB-serial drivers, loaded at boot: DeviceAllow=char-ttyUSB/char-ttyACM are resolved
# when the service starts, and name a driver's major only once that driver is loaded.
install -D -m 0644 -o 0 -g 0 "$SRC/deploy/modules-load.conf" "$(R /etc/modules-load.d/gatewayd.conf)"
if ((LIVE_SYSTEMD)); then
    # udevd does not run in containers, chroots and image builds: the rule applies when it does.
    if command -v udevadm >/dev/null && udevadm control --ping 2>/dev/null; then
        udevadm control --reload-rules
        udevadm trigger --subsystem-match=tty
    else
        say "systemd-udevd is not running here: skipped udevadm control/trigger (the rule applies once udev runs)"
    fi
fi

# ---------------------------------------------------------------- check, switch, start
check_config "$OPT/$release"
cur=$(readlink "$OPT/venv" 2>/dev/null || true)
if [[ $cur != "$release" ]]; then
    if [[ -n $cur ]]; then
        ln -sfn "$cur" "$OPT/.venv.new" && mv -Tf "$OPT/.venv.new" "$OPT/venv.prev"
    fi
    ln -sfn "$release" "$OPT/.venv.new" && mv -Tf "$OPT/.venv.new" "$OPT/venv"
    say "current release: $release${cur:+ (previous: $cur)}"
fi
# Keep the current and the previous release only.
keep_cur=$(readlink "$OPT/venv")
keep_prev=$(readlink "$OPT/venv.prev" 2>/dev/null || true)
for dir in "$OPT"/releases/*/; do
    rel=releases/$(basename "$dir")
    [[ $rel == "$keep_cur" || $rel == "$keep_prev" ]] || { say "removing old $rel"; rm -rf "${dir:?}"; }
done
restart_service
say "done: watch it with  journalctl -u gatewayd -f"
