"""Start-up: what READY=1 promises is true at READY=1, and nothing more is loaded for it.

The daemon runs under a probe that stops the process (SIGSTOP) the moment it has sent
READY=1, after writing the names in sys.modules; the test looks at the frozen daemon, then
lets it go on (SIGCONT).

- Promised at READY=1 (docs/deploy.md): the configuration is valid, the state dir writable,
  the sinks started with the MQTT outbox open (a reading accepted from then on is on disk),
  and the listen socket bound.
- Not loaded for it: no MQTT or BLE library or sink the config does not use, no meter driver,
  and not the decode side (decoder, crypto, meter model, pipeline, radios, sqlite without
  MQTT, orjson): the daemon restores its state and builds those after READY=1, before it opens
  the radio. The first MULTICAL 21 telegram then imports exactly its driver. With MQTT the
  same holds: the sink opens its outbox (sqlite3) but loads neither paho nor the meter model
  nor, without Home Assistant discovery, the discovery configs.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gatewayd.meters.registry import DRIVERS
from tests.daemon.harness import KEY, METER, mc21

# The daemon; at its first READY=1 it writes sys.modules to argv[1] and stops itself. SIGUSR1
# writes sys.modules again at any time.
PROBE = """
import gc, json, os, signal, sys
def dump(*_):
    with open(sys.argv[1] + ".gc", "w") as f:
        json.dump({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}, f)
    with open(sys.argv[1] + ".tmp", "w") as f:
        json.dump(sorted(sys.modules), f)
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
signal.signal(signal.SIGUSR1, dump)
from gatewayd.daemon import notify
sent_ready = notify.Notifier.ready
def ready(self, *args, **kwargs):
    result = sent_ready(self, *args, **kwargs)
    if not getattr(ready, "frozen", False):
        ready.frozen = True
        dump()
        os.kill(os.getpid(), signal.SIGSTOP)
    return result
notify.Notifier.ready = ready
from gatewayd.cli import main
sys.exit(main(sys.argv[2:]))
"""
DRIVER_MODULES = {f"gatewayd.meters.{e.module}" for e in DRIVERS}
UNUSED = {"paho", "dbus_fast", "gatewayd.sinks.mqtt", "gatewayd.sinks.ble", "serial"}
# Not needed to get there: shutil (with zlib, bz2 and lzma; argparse looks the terminal width up
# through it) and tempfile (the atomic writes, ha-announced.json among them before READY=1).
# Nor random (the MQTT back-off's jitter takes os.urandom), queue (the writer thread's queue is
# _queue's own), hashlib (the config cache takes _blake2's BLAKE2b).
NOT_FOR_READY = {"shutil", "tempfile", "bz2", "lzma", "random", "queue", "hashlib"}
# The decode side and the radios: imported after READY=1. (The driver registry's table is
# loaded before, to check a configured driver name.)
AFTER_READY = {
    "gatewayd.daemon.pipeline",
    "gatewayd.daemon.policy",
    "gatewayd.daemon.handoff",
    "gatewayd.wmbus.decode",
    "gatewayd.wmbus.crypto",
    "gatewayd.wmbus.compact",
    "gatewayd.meters.model",
    "gatewayd.meters.reading",
    "gatewayd.meters.roles",  # the journal's line needs it for its first reading
    "gatewayd.radios.base",
    "gatewayd.radios.registry",
    "gatewayd.radios.supervisor",
    "cryptography",
    "orjson",
}
OTHER_KEY = (0x9E3779B97F4A7C15).to_bytes(8, "little").hex() * 2


def loaded(modules: set[str], names: set[str]) -> set[str]:
    return {m for m in modules if m in names or m.split(".")[0] in names}


def write_config(tmp: Path, extra: str = "") -> Path:
    os.mkfifo(tmp / "radio.fifo")
    cfg = tmp / "config.toml"
    cfg.write_text(
        f'[gateway]\nid = "lazy"\nstate_dir = "{tmp / "state"}"\n'
        f'[radio]\nkind = "replay"\ndevice = "{tmp / "radio.fifo"}"\n'
        '[log]\nlevel = "warning"\njournal = "no"\n'
        f'[[meters]]\nid = "{METER}"\nkey = "{KEY.hex()}"\n'
        f'[[meters]]\nid = "12345678"\nkey = "{OTHER_KEY}"\ndriver = "kamheat"\n'
        "[stdout]\nenabled = true\n" + extra
    )
    return cfg


class Frozen:
    """The daemon as it was at READY=1 (stopped there), and the means to let it go on."""

    def __init__(self, proc: subprocess.Popen[bytes], dump: Path, radio: int) -> None:
        self.proc = proc
        self.dump = dump
        self.radio = radio  # the FIFO's write end
        self.at_ready = set(json.loads(dump.read_text()))
        self.gc_at_ready = self.collector()

    def collector(self) -> dict[str, object]:
        """The garbage collector's state when the modules were last written."""
        return dict(json.loads(Path(f"{self.dump}.gc").read_text()))

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def modules_now(self) -> set[str]:
        self.dump.unlink(missing_ok=True)
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 30
        while not self.dump.exists():
            assert self.proc.poll() is None, "the daemon exited"
            assert time.monotonic() < deadline, "no module list within 30 s"
            time.sleep(0.02)
        return set(json.loads(self.dump.read_text()))

    def reading(self) -> dict[str, object]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        assert ready, "no reading within 60 s"
        line = self.proc.stdout.readline()
        assert line, "the daemon closed its stdout"
        return dict(json.loads(line))


@contextmanager
def frozen_at_ready(tmp: Path, cfg: Path) -> Iterator[Frozen]:
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp / "notify"))
    notify.settimeout(60)
    radio = os.open(tmp / "radio.fifo", os.O_RDWR | os.O_NONBLOCK)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "WATCHDOG_"))}
    env.pop("RUNTIME_DIRECTORY", None)  # the listen socket goes into the state dir
    env["NOTIFY_SOCKET"] = str(tmp / "notify")
    dump = tmp / "modules.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", PROBE, str(dump), "run", "--config", str(cfg)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        while "READY=1" not in notify.recv(4096).decode().split("\n"):
            pass
        deadline = time.monotonic() + 30
        while not _stopped(proc.pid):  # READY=1 is sent just before the probe stops it
            assert time.monotonic() < deadline, "the daemon did not stop at READY=1"
            time.sleep(0.01)
        yield Frozen(proc, dump, radio)
    finally:
        proc.send_signal(signal.SIGCONT)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=60)
        finally:
            proc.kill()
            os.close(radio)
            notify.close()


def _stopped(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "T"


def test_start_up_imports_only_what_the_config_uses(tmp_path: Path) -> None:
    with frozen_at_ready(tmp_path, write_config(tmp_path)) as daemon:
        at_ready = daemon.at_ready
        daemon.resume()
        os.write(daemon.radio, mc21(1, 1234).hex().encode() + b"\n")
        reading = daemon.reading()
        after_one = daemon.modules_now()
    assert "gatewayd.daemon.app" in at_ready  # the list is the daemon's own
    assert loaded(at_ready, UNUSED) == set()
    assert loaded(at_ready, NOT_FOR_READY) == set()
    # a meter that names its driver does not import it before its first telegram
    assert at_ready & DRIVER_MODULES == set()
    assert "gatewayd.meters.driver" not in at_ready
    # the decode side, the radios and their libraries come after READY=1
    assert loaded(at_ready, AFTER_READY) == set()
    assert {m for m in at_ready if m.startswith("gatewayd.wmbus.")} <= {"gatewayd.wmbus.errors"}
    assert {m for m in at_ready if m.startswith("gatewayd.radios.")} == {"gatewayd.radios.modes"}
    # of the meters layer only the driver table, for the meter that names its driver
    meters_layer = {m for m in at_ready if m.startswith("gatewayd.meters.")}
    assert meters_layer == {"gatewayd.meters.registry", "gatewayd.meters.modules"}
    assert "sqlite3" not in at_ready  # no MQTT: no outbox
    assert reading["id"] == METER and reading["total_m3"] == 1.234
    assert after_one & DRIVER_MODULES == {"gatewayd.meters.kamstrup_water"}
    assert loaded(after_one, UNUSED) == set()
    assert {"gatewayd.daemon.pipeline", "gatewayd.radios.registry"} <= after_one


def test_the_collector_is_off_for_the_start_and_on_from_ready(tmp_path: Path) -> None:
    """`gatewayd run` starts without cyclic garbage collection and turns it back on (with what
    the start built frozen) once READY=1 is out: a daemon must not run for months without it."""
    with frozen_at_ready(tmp_path, write_config(tmp_path)) as daemon:
        assert daemon.gc_at_ready == {"enabled": False, "frozen": 0}
        daemon.resume()
        os.write(daemon.radio, mc21(1, 1234).hex().encode() + b"\n")
        assert daemon.reading()["id"] == METER
        daemon.modules_now()
        after = daemon.collector()
    assert after["enabled"] is True
    assert isinstance(after["frozen"], int) and after["frozen"] > 1000


def test_ready_means_the_outbox_is_open_and_the_listen_socket_bound(tmp_path: Path) -> None:
    """With [mqtt] (no broker: the sink retries in the background) and a damaged state file:
    at READY=1 the outbox file has its table and the listen socket takes a connection, and paho
    is not loaded yet; the state is read after READY=1 (the damaged file is moved aside then)
    and a telegram then becomes a reading."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "meters.json").write_text("{not json")
    cfg = write_config(tmp_path, '[mqtt]\nhost = "127.0.0.1"\nport = 9\n')
    with frozen_at_ready(tmp_path, cfg) as daemon:
        db = sqlite3.connect(f"file:{state / 'mqtt-outbox.sqlite3'}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        finally:
            db.close()
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(60)
        client.connect(str(state / "listen.sock"))  # the kernel queues it while frozen
        damaged_at_ready = sorted(p.name for p in state.glob("meters.json*"))
        daemon.resume()
        hello = json.loads(client.makefile("rb").readline())
        os.write(daemon.radio, mc21(1, 1234).hex().encode() + b"\n")
        reading = daemon.reading()
        after_one = daemon.modules_now()
        client.close()
    assert "outbox" in tables
    # the MQTT sink is started, its connection (paho) is made by its task after READY=1
    assert loaded(daemon.at_ready, {"paho"}) == set()
    assert {"gatewayd.sinks.mqtt.sink", "gatewayd.sinks.outbox", "sqlite3"} <= daemon.at_ready
    # nor does the MQTT sink bring the decode side, the meter model or orjson before READY=1
    assert loaded(daemon.at_ready, AFTER_READY) == set()
    assert {m for m in daemon.at_ready if m.startswith("gatewayd.wmbus.")} <= {
        "gatewayd.wmbus.errors"
    }
    meters_layer = {m for m in daemon.at_ready if m.startswith("gatewayd.meters.")}
    assert meters_layer == {"gatewayd.meters.registry", "gatewayd.meters.modules"}
    no_ha = {"gatewayd.sinks.mqtt.discovery", "gatewayd.sinks.mqtt.ha_gateway"}
    assert daemon.at_ready & no_ha == set()  # ha_discovery is off
    assert loaded(daemon.at_ready, NOT_FOR_READY) == set()
    assert (state / "ha-announced.json").exists()  # written before READY=1, without tempfile
    assert "paho.mqtt.client" in after_one
    assert damaged_at_ready == ["meters.json"]  # not read yet at READY=1
    assert hello["gateway"] == "lazy" and hello["listen"] == 1
    assert reading["id"] == METER and reading["total_m3"] == 1.234
    assert [p.name.split(".corrupt-")[0] for p in state.glob("meters.json.corrupt-*")] == [
        "meters.json"
    ]
