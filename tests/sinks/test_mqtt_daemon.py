"""The real daemon: `gatewayd run` (replay radio -> decode -> policy -> MqttSink) to mosquitto."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema

from tests.conftest import REPO
from tests.daemon.harness import KEY, METER, mc21
from tests.sinks.conftest import Broker, Msg, Subscriber

SCHEMA = json.loads((REPO / "gatewayd/sinks/mqtt/reading.schema.json").read_text())
BASE = "metersync/e2e-gw"


async def test_gatewayd_run_publishes_readings_and_the_will_fires_when_killed(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    sub: Subscriber = subscribe(broker.port, f"{BASE}/#")
    telegrams = tmp_path / "telegrams.txt"
    telegrams.write_text("".join(f"{mc21(i, 5000 + i).hex()};-70\n" for i in range(4)))
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[gateway]
id = "e2e-gw"
state_dir = "{tmp_path / "state"}"

[radio]
kind = "replay"
device = "{telegrams}"

[[meters]]
id = "{METER}"
name = "kitchen"
key = "{KEY.hex().upper()}"

[meters.fields]
apartment = "3B"
floor = 2

[mqtt]
host = "127.0.0.1"
port = {broker.port}
"""
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatewayd", "run", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        msgs = await sub.wait_for(
            lambda ms: len([m for m in ms if m.topic == f"{BASE}/meters/{METER}"]) == 4,
            timeout=30,
        )
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    readings = [m for m in msgs if m.topic == f"{BASE}/meters/{METER}"]
    assert all(m.retain and m.qos == 1 for m in readings)
    bodies = [json.loads(m.payload) for m in readings]
    for b in bodies:
        jsonschema.validate(b, SCHEMA)
    assert [b["total_m3"] for b in bodies] == [5.0, 5.001, 5.002, 5.003]
    assert {b["rssi_dbm"] for b in bodies} == {-70}
    # the configured name and static fields, and one dedup key per telegram
    assert {(b["name"], b["apartment"], b["floor"]) for b in bodies} == {("kitchen", "3B", 2)}
    assert list(bodies[0])[:2] == ["id", "name"]
    keys = [b["dedup_key"] for b in bodies]
    assert len(set(keys)) == 4 and all(k.startswith(f"{METER}-") for k in keys)
    await sub.wait_for(lambda ms: ms[-1].topic == f"{BASE}/status" and ms[-1].payload == b"offline")
    status = [m.payload for m in sub.snapshot() if m.topic == f"{BASE}/status"]
    assert status[0] == b"online" and status[-1] == b"offline"


async def test_status_is_online_while_the_radio_device_is_missing(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    """An unplugged stick does not take MQTT down: the retained status is `online` and the stats
    say what the radio waits for, while the supervisor keeps retrying."""
    sub: Subscriber = subscribe(broker.port, f"{BASE}/#")
    absent = tmp_path / "ttyUSB-unplugged"

    def waiting(m: Msg) -> bool:
        return m.topic == f"{BASE}/stats" and b"waiting for" in m.payload

    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[gateway]
id = "e2e-gw"
state_dir = "{tmp_path / "state"}"

[radio]
kind = "im871a"
device = "{absent}"

[mqtt]
host = "127.0.0.1"
port = {broker.port}
stats_interval_s = 1
"""
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatewayd", "run", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # (under load the very first stats may still say "opening ...")
        msgs = await sub.wait_for(lambda ms: any(waiting(m) for m in ms), timeout=30)
        assert proc.poll() is None  # still running, radio or not
        # a client that connects now gets the retained status
        late: Subscriber = subscribe(broker.port, f"{BASE}/status")
        retained = await late.wait_for(lambda ms: len(ms) >= 1, timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    status = [m for m in msgs if m.topic == f"{BASE}/status"]
    assert status and status[0].payload == b"online" and status[0].retain
    assert (retained[0].payload, retained[0].retain) == (b"online", True)
    stats = json.loads(next(m for m in msgs if waiting(m)).payload)
    assert stats["radio_state"] == "reconnecting"
    assert stats["radio_status"] == f"waiting for {absent}: no such device"
    assert proc.returncode == 0
