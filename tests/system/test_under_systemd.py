"""gatewayd under Debian bookworm's real systemd (252) booted in systemd-nspawn.

The checkout is installed inside with deploy/install.sh (Python packages from a wheelhouse,
no network), then each check runs against the installed unit with its full sandbox. Tests
run in file order against one container; each check that needs a particular configuration
writes it and starts the service afresh (tests/system/gateway.py: configure). Where a check
shortens WatchdogSec= or RestartSec= to stay quick, it does so in a drop-in it removes again.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest

from tests.system.container import Container, Result
from tests.system.gateway import (
    INSTALL,
    K1,
    KEY,
    METER,
    WRONG_KEY,
    configure,
    feed,
    journal,
    keys_toml,
    messages,
    prop,
    replay_config,
    wait_until,
)

DROPIN = "/etc/systemd/system/gatewayd.service.d/50-test.conf"


@pytest.fixture(scope="module")
def installed(machine: Container) -> Result:
    """The first install, on a fresh system (default config: an iM871A on /dev/wmbus0)."""
    t0 = time.monotonic()
    result = machine.run(INSTALL, timeout=300)
    print(f"boot {machine.timings}, first install {time.monotonic() - t0:.1f} s")
    return result


@pytest.fixture
def quick_restarts(machine: Container) -> Iterator[None]:
    machine.write(DROPIN, "[Service]\nWatchdogSec=3\nRestartSec=1\n")
    machine.run("systemctl daemon-reload", check=True)
    yield
    machine.run(f"rm -f {DROPIN} && systemctl daemon-reload", check=True)


# docs/deploy.md "Journal fields" (journald's own trusted ones start with "_")
DOCUMENTED = {
    *("MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "LOGGER", "CODE_FILE", "CODE_LINE"),
    *("CODE_FUNC", "EXCEPTION_TEXT", "GATEWAYD_EVENT", "METER_ID", "METER_NAME"),
    *("MANUFACTURER", "RSSI_DBM", "RADIO"),
}


def readings(c: Container) -> list[dict[str, object]]:
    """Published readings (GATEWAYD_EVENT "reading", or "alarm" when the alarms changed)."""
    entries = journal(c, f"METER_ID={METER}", "LOGGER=gatewayd.readings")
    return [e for e in entries if str(e["MESSAGE"]).startswith(f"meter {METER} (kitchen): ")]


def test_installer_succeeds_without_udevd_twice(machine: Container, installed: Result) -> None:
    assert machine.run("systemctl is-active systemd-udevd").stdout.strip() != "active"
    assert installed.returncode == 0, installed.output[-3000:]
    skipped = "systemd-udevd is not running here: skipped udevadm control/trigger"
    assert installed.output.count(skipped) == 1, installed.output[-3000:]
    assert machine.run("systemctl is-active gatewayd").stdout.strip() == "active"
    again = machine.run(INSTALL, timeout=300)
    assert again.returncode == 0, again.output[-3000:]
    assert "is already built" in again.output
    assert machine.run("systemctl is-active gatewayd").stdout.strip() == "active"
    assert machine.run("systemctl is-enabled gatewayd").stdout.strip() == "enabled"


def test_active_under_the_full_sandbox_with_a_replay_radio(
    machine: Container, installed: Result
) -> None:
    started = configure(machine, replay_config())
    assert started.returncode == 0, started.output
    assert prop(machine, "ActiveState") == "active"
    pid = prop(machine, "MainPID")
    user = machine.run(f"stat -c %U /proc/{pid}", check=True).stdout.strip()
    assert user == "gatewayd"
    # the root-only keys reach the service only as its own runtime copy
    denied = machine.run(
        "setpriv --reuid=gatewayd --regid=gatewayd --clear-groups cat /etc/gatewayd/keys.toml"
    )
    assert denied.returncode != 0 and "Permission denied" in denied.stderr
    copy = machine.run("stat -c '%a %U' /run/gatewayd/credentials/keys.toml", check=True)
    assert copy.stdout.split() == ["400", "gatewayd"]
    # sandboxed: / is read-only and the process has no capabilities
    status = machine.run(f"grep -E '^Cap(Eff|Bnd):' /proc/{pid}/status", check=True).stdout
    assert set(re.findall(r"\b[0-9a-f]{16}\b", status)) == {"0" * 16}
    mounts = machine.run(f"nsenter -t {pid} -m findmnt -no OPTIONS /", check=True).stdout
    assert mounts.startswith("ro"), mounts
    feed(machine, K1)
    entry = wait_until("the reading", lambda: readings(machine))[0]
    assert "6.408" in str(entry["MESSAGE"])
    # CacheDirectory=: the parsed config and keys, the service's own, without the key in it
    cache = machine.run("stat -c '%a %U' /var/cache/gatewayd", check=True).stdout.split()
    assert cache == ["700", "gatewayd"]
    entries = machine.run(
        "stat -c '%a %U %n' /var/cache/gatewayd/toml-*.bin", check=True
    ).stdout.splitlines()
    assert len(entries) == 2 and all(e.split()[:2] == ["600", "gatewayd"] for e in entries)
    for form in (KEY.lower(), KEY.upper()):
        found = machine.run(f"grep -rlF {form} /var/cache/gatewayd")
        assert found.returncode == 1, found.stdout  # 1: no file holds it


def test_active_with_the_radio_device_absent_then_plugged_in(
    machine: Container, installed: Result
) -> None:
    machine.run("rm -f /dev/wmbus0 /dev/ttyUSB0")
    started = configure(machine, replay_config(kind="im871a", device="/dev/wmbus0"))
    assert started.returncode == 0, started.output
    assert prop(machine, "ActiveState") == "active"
    waiting = "waiting for /dev/wmbus0: no such device"
    wait_until(waiting, lambda: waiting in prop(machine, "StatusText"))
    # A stick appears: a ttyUSB node (major 188) with no driver behind it here. The open gets
    # past the device policy and fails in the kernel (ENXIO), not in the cgroup (EPERM).
    machine.run(
        "mknod -m 0660 /dev/ttyUSB0 c 188 0 && chgrp dialout /dev/ttyUSB0 && "
        "ln -s ttyUSB0 /dev/wmbus0",
        check=True,
    )

    def status_after_plugging_in() -> str:
        text = prop(machine, "StatusText")
        return text if "/dev/ttyUSB0" in text else ""

    status = wait_until("a new open attempt", status_after_plugging_in)
    assert "No such device or address" in status and "not permitted" not in status, status
    assert prop(machine, "NRestarts") == "0"


def test_the_device_policy_is_enforced(machine: Container, installed: Result) -> None:
    # ttyS (major 4) is not in DeviceAllow= (nor is it /dev/wmbus0, which is allowed by path
    # when it exists at start): the same kind of open is refused by the cgroup.
    machine.run(
        "rm -f /dev/wmbus0 /dev/ttyUSB0 /dev/ttyS9; mknod -m 0660 /dev/ttyS9 c 4 73 && "
        "chgrp dialout /dev/ttyS9",
        check=True,
    )
    started = configure(machine, replay_config(kind="im871a", device="/dev/ttyS9"))
    assert started.returncode == 0, started.output
    hint = "the unit's DeviceAllow= does not admit this device"
    status = wait_until("the refusal", lambda: (t := prop(machine, "StatusText")) * (hint in t))
    assert "waiting for /dev/ttyS9: " in status and "Operation not permitted" in status, status
    as_root = machine.run("exec 3<>/dev/ttyS9")  # outside the unit the node opens (or EIO)
    assert "not permitted" not in as_root.stderr
    machine.run("rm -f /dev/ttyS9")


def test_a_blocked_event_loop_is_killed_by_the_watchdog_and_restarted(
    machine: Container, installed: Result, quick_restarts: None
) -> None:
    started = configure(machine, replay_config(extra="\n[debug]\nsigusr2_block_s = 30\n"))
    assert started.returncode == 0, started.output
    pid = prop(machine, "MainPID")
    restarts = int(prop(machine, "NRestarts"))
    machine.run("systemctl kill --kill-who=main -s SIGUSR2 gatewayd", check=True)
    wait_until(
        "a restart",
        lambda: (
            prop(machine, "MainPID") not in (pid, "0") and prop(machine, "ActiveState") == "active"
        ),
        timeout=40,
    )
    assert int(prop(machine, "NRestarts")) == restarts + 1
    log = machine.run("journalctl --no-pager -u gatewayd -n 200", check=True).stdout
    assert "Watchdog timeout" in log


def test_journalctl_by_meter_id(machine: Container, installed: Result) -> None:
    configure(machine, replay_config())
    feed(machine, K1)
    wait_until("the reading", lambda: readings(machine))
    out = machine.run(f"journalctl --no-pager -o json -u gatewayd METER_ID={METER}", check=True)

    entries = [json.loads(line) for line in out.stdout.splitlines()]
    assert entries and all(e["METER_ID"] == METER for e in entries)
    reading = [e for e in entries if e.get("LOGGER") == "gatewayd.readings"][-1]
    assert reading["MANUFACTURER"] == "KAM" and reading["RSSI_DBM"] == "-71"
    # K1 (the Multical 21 vector) reports DRY: its first reading raises an alarm, a warning
    assert reading["METER_NAME"] == "kitchen" and reading["GATEWAYD_EVENT"] == "alarm"
    assert reading["PRIORITY"] == "4"
    assert reading["MESSAGE"].startswith(f"meter {METER} (kitchen): total_m3=6.408 m³, ")
    assert reading["MESSAGE"].endswith(", rssi -71 dBm, alarms: dry")
    # journald's own fields and the documented ones of gatewayd, nothing of the LogRecord's
    ours = {k for k in reading if not k.startswith("_")}
    assert ours <= DOCUMENTED, ours - DOCUMENTED
    assert not {"ARGS", "MSG", "LEVELNAME", "THREAD_NAME", "PROCESS_NAME"} & reading.keys()


def test_listen_beside_the_running_unit_as_a_member_of_group_gatewayd(
    machine: Container, installed: Result
) -> None:
    configure(machine, replay_config())
    sock = machine.run("stat -c '%a %U %G' /run/gatewayd /run/gatewayd/listen.sock", check=True)
    assert sock.stdout.split() == ["750", "gatewayd", "gatewayd", "660", "gatewayd", "gatewayd"]
    machine.run("id commissioner || useradd -M -G gatewayd commissioner", check=True)
    machine.run("id stranger || useradd -M stranger", check=True)
    listen = "/opt/gatewayd/venv/bin/gatewayd listen"
    refused = machine.run(f"setpriv --reuid=stranger --regid=stranger --init-groups {listen}")
    assert refused.returncode == 1
    (line,) = refused.stderr.splitlines()
    assert "permission denied" in line and "group gatewayd" in line
    machine.run(
        "sh -c 'echo $$ > /tmp/listen.pid; exec setpriv --reuid=commissioner "
        f"--regid=commissioner --init-groups {listen} --json' > /tmp/listen.out 2>&1 &",
        check=True,
    )
    wait_until("the listener", lambda: journal(machine, "GATEWAYD_EVENT=listen_client"))
    feed(machine, K1)
    out = wait_until(
        "the frame", lambda: machine.run("cat /tmp/listen.out").stdout.count('"hex"') >= 1
    )
    assert out
    machine.run("kill -INT $(cat /tmp/listen.pid)", check=True)
    wait_until("the summary", lambda: '"summary"' in machine.run("cat /tmp/listen.out").stdout)
    lines = machine.run("cat /tmp/listen.out", check=True).stdout.splitlines()
    frames = [json.loads(x) for x in lines if x.startswith('{"time"')]
    assert frames[0]["id"] == METER and frames[0]["rssi_dbm"] == -71.0
    assert frames[0]["key"] == "no_key"  # no keys given: the listener never sees the service's
    assert KEY not in "\n".join(lines).upper()


def test_a_configuration_error_is_final(
    machine: Container, installed: Result, quick_restarts: None
) -> None:
    started = configure(machine, replay_config().replace('kind = "replay"', 'kind = "nope"'))
    assert started.returncode != 0
    wait_until("the unit to fail", lambda: prop(machine, "ActiveState") == "failed")
    assert prop(machine, "ExecMainStatus") == "2"
    time.sleep(3)  # three RestartSec= intervals: no restart comes
    assert prop(machine, "ActiveState") == "failed"
    assert prop(machine, "NRestarts") == "0"
    log = machine.run("journalctl --no-pager -u gatewayd -n 20", check=True).stdout
    assert "kind" in log and "nope" in log
    assert "Traceback" not in log


def test_reload_applies_a_changed_key(machine: Container, installed: Result) -> None:
    configure(machine, replay_config(), key=WRONG_KEY)
    feed(machine, K1)
    wait_until("the wrong key", lambda: journal(machine, "GATEWAYD_EVENT=wrong_key"))
    assert not readings(machine)
    pid = prop(machine, "MainPID")
    machine.write("/etc/gatewayd/keys.toml", keys_toml(KEY), mode=0o600)
    done = machine.run("systemctl reload gatewayd", timeout=60)
    assert done.returncode == 0, done.output
    wait_until("the reload", lambda: journal(machine, "GATEWAYD_EVENT=reloaded"))
    feed(machine, K1)
    entry = wait_until("the reading", lambda: readings(machine))[0]
    assert "6.408" in str(entry["MESSAGE"])
    assert prop(machine, "MainPID") == pid
    assert any("reloaded" in m for m in messages(journal(machine)))


def test_upgrade_then_rollback(machine: Container, installed: Result) -> None:
    configure(machine, replay_config())
    before = machine.run("readlink /opt/gatewayd/venv", check=True).stdout.strip()
    machine.run(
        "rm -rf /root/next && cp -a /root/gatewayd /root/next && "
        "sed -i 's/^version = .*/version = \"99.0.0\"/' /root/next/pyproject.toml",
        check=True,
    )
    up = machine.run(INSTALL.replace("/root/gatewayd/", "/root/next/"), timeout=300)
    assert up.returncode == 0, up.output[-3000:]
    now = machine.run("readlink /opt/gatewayd/venv /opt/gatewayd/venv.prev", check=True)
    assert now.stdout.split() == [now.stdout.split()[0], before]
    assert now.stdout.split()[0].startswith("releases/99.0.0-")
    assert prop(machine, "ActiveState") == "active"
    back = machine.run("/root/gatewayd/deploy/install.sh --rollback", timeout=120)
    assert back.returncode == 0, back.output[-3000:]
    assert machine.run("readlink /opt/gatewayd/venv", check=True).stdout.strip() == before
    assert prop(machine, "ActiveState") == "active"
    exe = machine.run(f"cat /proc/{prop(machine, 'MainPID')}/cmdline | tr '\\0' ' '").stdout
    assert "/opt/gatewayd/venv/bin/gatewayd run" in exe


def test_the_installer_stores_the_mqtt_password_root_only(
    machine: Container, installed: Result
) -> None:
    configure(machine, replay_config())
    done = machine.run(f"printf 'horse-battery\\n' | {INSTALL} --mqtt-password-file -", timeout=300)
    assert done.returncode == 0, done.output[-3000:]
    original = machine.run("stat -c '%a %U' /etc/gatewayd/mqtt-password", check=True)
    assert original.stdout.split() == ["600", "root"]
    copy = machine.run("stat -c '%a %U' /run/gatewayd/credentials/mqtt-password", check=True)
    assert copy.stdout.split() == ["400", "gatewayd"]
    assert machine.run("cat /run/gatewayd/credentials/mqtt-password").stdout == "horse-battery\n"
    assert "horse-battery" not in done.output
    machine.run("rm -f /etc/gatewayd/mqtt-password && systemctl reload gatewayd", check=True)
    assert machine.run("test -e /run/gatewayd/credentials/mqtt-password").returncode != 0


def test_security_rating_in_the_booted_system(machine: Container, installed: Result) -> None:
    out = machine.run("systemd-analyze security --no-pager gatewayd.service", check=True).stdout
    m = re.search(r"Overall exposure level for gatewayd\.service: (\d+\.\d+) (\w+)", out)
    assert m, out[-1000:]
    print(f"systemd-analyze security (booted): {m.group(1)} {m.group(2)}")
    assert float(m.group(1)) <= 2.0


def test_memory_and_tasks_limits_are_set_enforced_only_with_controllers(
    machine: Container, installed: Result
) -> None:
    configure(machine, replay_config())
    assert prop(machine, "MemoryMax") == str(256 * 1024 * 1024)
    assert prop(machine, "TasksMax") == "64"
    controllers = machine.run("cat /sys/fs/cgroup/cgroup.controllers").stdout.split()
    cg = "/sys/fs/cgroup/system.slice/gatewayd.service"
    if "memory" in controllers:
        assert machine.run(f"cat {cg}/memory.max").stdout.strip() == str(256 * 1024 * 1024)
    else:
        # On a host whose memory and pids controllers are on cgroup v1 (this CI machine), the
        # container's cgroup v2 tree has no such controllers: the limits are accepted and not
        # enforced. Stated here, not pretended.
        print(f"MemoryMax=/TasksMax= not enforced here: controllers {controllers}")
        assert machine.run(f"test -e {cg}/memory.max").returncode != 0
    if "pids" in controllers:
        assert machine.run(f"cat {cg}/pids.max").stdout.strip() == "64"


def test_uninstall(machine: Container, installed: Result) -> None:
    done = machine.run("/root/gatewayd/deploy/uninstall.sh", timeout=120)
    assert done.returncode == 0, done.output
    assert "skipped udevadm control" in done.output
    assert machine.run("systemctl is-active gatewayd").stdout.strip() in ("inactive", "unknown")
    assert (
        machine.run(
            "test -e /opt/gatewayd || test -e /etc/systemd/system/gatewayd.service"
        ).returncode
        != 0
    )
    assert machine.run("test -f /etc/gatewayd/config.toml && id gatewayd").returncode == 0
    purged = machine.run("/root/gatewayd/deploy/uninstall.sh --purge", timeout=120)
    assert purged.returncode == 0, purged.output
    assert machine.run("test -e /etc/gatewayd || id gatewayd").returncode != 0
