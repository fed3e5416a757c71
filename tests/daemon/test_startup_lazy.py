"""Start-up loads only what the configuration uses: `gatewayd run` with a replay radio, keyed
meters and the stdout sink has, at READY=1, imported no MQTT or BLE library, no MQTT or BLE
sink and no meter driver; the first telegram of a MULTICAL 21 then imports its driver's module
and no other."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from gatewayd.meters.registry import DRIVERS
from tests.daemon.harness import KEY, METER, mc21

# The daemon, plus a SIGUSR1 handler that writes the names in sys.modules to a file.
PROBE = """
import json, signal, sys
def dump(*_):
    with open(sys.argv[1] + ".tmp", "w") as f:
        json.dump(sorted(sys.modules), f)
    import os
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
signal.signal(signal.SIGUSR1, dump)
from gatewayd.cli import main
sys.exit(main(sys.argv[2:]))
"""
DRIVER_MODULES = {f"gatewayd.meters.{e.module}" for e in DRIVERS}
UNUSED = {"paho", "dbus_fast", "gatewayd.sinks.mqtt", "gatewayd.sinks.ble", "serial"}


def modules_now(proc: subprocess.Popen[bytes], dump: Path) -> set[str]:
    dump.unlink(missing_ok=True)
    proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 30
    while not dump.exists():
        assert proc.poll() is None, "the daemon exited"
        assert time.monotonic() < deadline, "no module list within 30 s"
        time.sleep(0.02)
    return set(json.loads(dump.read_text()))


def loaded(modules: set[str], names: set[str]) -> set[str]:
    return {m for m in modules if m in names or m.split(".")[0] in names}


def test_start_up_imports_only_what_the_config_uses(tmp_path: Path) -> None:
    fifo = tmp_path / "radio.fifo"
    os.mkfifo(fifo)
    other = (0x9E3779B97F4A7C15).to_bytes(8, "little").hex() * 2
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[gateway]\nid = "lazy"\nstate_dir = "{tmp_path / "state"}"\n'
        f'[radio]\nkind = "replay"\ndevice = "{fifo}"\n'
        '[log]\nlevel = "warning"\njournal = "no"\n'
        f'[[meters]]\nid = "{METER}"\nkey = "{KEY.hex()}"\n'
        f'[[meters]]\nid = "12345678"\nkey = "{other}"\ndriver = "kamheat"\n'
        "[stdout]\nenabled = true\n"
    )
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(60)
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify")}
    dump = tmp_path / "modules.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", PROBE, str(dump), "run", "--config", str(cfg)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        while "READY=1" not in notify.recv(4096).decode().split("\n"):
            pass
        at_ready = modules_now(proc, dump)
        os.write(writer, mc21(1, 1234).hex().encode() + b"\n")
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "no reading within 60 s"
        reading = json.loads(proc.stdout.readline())
        after_one = modules_now(proc, dump)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=60)
        finally:
            proc.kill()
            os.close(writer)
            notify.close()
    assert "gatewayd.daemon.app" in at_ready  # the list is the daemon's own
    assert loaded(at_ready, UNUSED) == set()
    # a meter that names its driver does not import it before its first telegram
    assert at_ready & DRIVER_MODULES == set()
    assert "gatewayd.meters.driver" not in at_ready
    assert reading["id"] == METER and reading["total_m3"] == 1.234
    assert after_one & DRIVER_MODULES == {"gatewayd.meters.kamstrup_water"}
    assert loaded(after_one, UNUSED) == set()
