"""A power cut: what reached the disk when the daemon died is all that is left, and it is enough.

The state dir is an ext4 file system on a loop device. `gatewayd run --stdout` reads a FIFO
radio, with the broker down, so every reading stays in the outbox. The daemon is SIGKILLed
while telegrams stream and the disk image is copied at once: the copy holds what the loop
device had written, not the file system's page cache, which is what a power cut leaves. The
copy is mounted and drained into a real broker: every reading the daemon printed arrives.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from gatewayd.sinks.mqtt import MqttSettings, MqttSink
from tests.conftest import REPO
from tests.loopdisk import can_loop_mount, loop_ext4, mounted
from tests.sinks.conftest import Broker, Subscriber
from tests.sinks.feeder import FifoFeeder, daemon_config
from tests.sinks.mqtt_readings import seq_of

pytestmark = pytest.mark.skipif(not can_loop_mount(), reason="needs root and loop devices")

GW = "power-gw"


class Printed(threading.Thread):
    """Collects the volumes (litres) of the readings the daemon printed on stdout."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.litres: list[int] = []

    def run(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.litres.append(round(json.loads(line)["total_m3"] * 1000))


@pytest.mark.parametrize("window_ms", [0, 20, 300])  # [mqtt] commit_window_ms
async def test_every_printed_reading_survives_a_power_cut(
    broker_factory: Any, subscribe: Any, tmp_path: Path, window_ms: int
) -> None:
    """Whatever the group-commit window, what a sink showed survives; what is lost is only
    the newest readings, never yet committed (and so never shown)."""
    broker: Broker = broker_factory(start=False)  # down: everything stays on the disk
    image, copy = tmp_path / "disk.img", tmp_path / "copy.img"
    with loop_ext4(image, tmp_path / "mnt") as mnt:
        state = mnt / "state"
        feeder = FifoFeeder(tmp_path / "radio.fifo", rate=100.0)
        feeder.start()
        cfg = daemon_config(
            tmp_path / "config.toml",
            gateway=GW,
            state=state,
            fifo=feeder.fifo,
            port=broker.port,
            mqtt=f"commit_window_ms = {window_ms}",
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "gatewayd", "run", "--config", str(cfg), "--stdout"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        printed = Printed(proc)
        printed.start()
        try:
            deadline = time.monotonic() + 30
            while len(printed.litres) < 300 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)  # the power goes
            shutil.copyfile(image, copy)  # what the disk holds, at once
            proc.wait(timeout=10)
            feeder.stop()
        printed.join(timeout=5)
        assert proc.stdout is not None
        proc.stdout.close()
    assert len(printed.litres) >= 300, "the daemon did not print readings"

    broker.start()
    sub: Subscriber = subscribe(broker.port, f"metersync/{GW}/meters/#")
    with mounted(copy, tmp_path / "copy") as restored:  # the journal is replayed here
        sink = MqttSink(
            MqttSettings(
                gateway_id=GW,
                state_dir=restored / "state",
                host="127.0.0.1",
                port=broker.port,
                reconnect_min_s=0.05,
            )
        )
        await sink.start()
        want = set(printed.litres)
        try:
            msgs = await sub.wait_for(
                lambda ms: want <= {seq_of(m.payload) for m in ms}, timeout=30
            )
        finally:
            await sink.stop(2.0)
    got = [seq_of(m.payload) for m in msgs]
    assert want <= set(got)
    assert got == sorted(got)  # in order, too
    # Nothing missing in between: the rows on disk are every telegram fed, from the first on.
    first = min(feeder.sent_at)
    assert got == list(range(first, got[-1] + 1))
