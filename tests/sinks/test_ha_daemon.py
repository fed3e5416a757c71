"""The real daemon announces its meters to Home Assistant and takes a meter back when a reload
(SIGHUP) drops it from the config: `gatewayd run` (replay radio) against mosquitto."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO
from tests.daemon.harness import KEY, METER, mc21
from tests.sinks.announced import recorded_state
from tests.sinks.conftest import Broker, Msg, Subscriber

GW = "ha-gw"
OTHER = "55667788"  # a second configured meter, never heard


def write_config(path: Path, tmp_path: Path, port: int, meters: list[str]) -> None:
    tables = "".join(
        f'[[meters]]\nid = "{m}"\nname = "{"kitchen" if m == METER else "cellar"}"\n'
        f'key = "{KEY.hex().upper()}"\n\n'
        for m in meters
    )
    telegrams = tmp_path / "telegrams.txt"
    path.write_text(
        f"""
[gateway]
id = "{GW}"
state_dir = "{tmp_path / "state"}"

[radio]
kind = "replay"
device = "{telegrams}"

{tables}
[mqtt]
host = "127.0.0.1"
port = {port}
ha_discovery = true
"""
    )


async def test_daemon_announces_and_a_reload_takes_a_removed_meter_back(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    # A FIFO kept open for writing: the replay radio reads the telegram, then waits for more
    # instead of ending (which would stop the daemon).
    fifo = tmp_path / "telegrams.txt"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)
    os.write(writer, f"{mc21(0, 5000).hex()};-70\n".encode())
    config = tmp_path / "config.toml"
    write_config(config, tmp_path, broker.port, [METER, OTHER])
    sub: Subscriber = subscribe(broker.port, "#")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatewayd", "run", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    total = f"homeassistant/sensor/metersync_{METER}/total_m3/config"
    reading = f"metersync/{GW}/meters/{METER}"
    try:
        msgs = await sub.wait_for(
            lambda ms: {total, reading} <= {m.topic for m in ms if m.payload}, timeout=30
        )
        cfg = json.loads(next(m.payload for m in msgs if m.topic == total))
        assert cfg["device"]["name"] == "kitchen"
        assert cfg["device"]["via_device"] == f"metersync_gateway_{GW}"
        assert cfg["name"] == "Total volume" and cfg["state_topic"] == reading
        mine = {m.topic for m in msgs if m.topic.startswith("homeassistant/") and METER in m.topic}

        write_config(config, tmp_path, broker.port, [OTHER])
        proc.send_signal(signal.SIGHUP)

        def taken_back(ms: list[Msg]) -> bool:
            empty = {m.topic for m in ms if m.payload == b"" and m.retain}
            return mine | {reading} <= empty

        await sub.wait_for(taken_back, timeout=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        os.close(writer)
    assert len(mine) >= 10  # sensors and binary sensors of the meter, all taken back
    text = (tmp_path / "state" / "ha-announced.json").read_text()
    assert METER not in json.loads(text)["configs"] and METER not in recorded_state(text)
    assert set(recorded_state(text)) == {
        OTHER
    }  # the never-heard meter is remembered (health topic)
