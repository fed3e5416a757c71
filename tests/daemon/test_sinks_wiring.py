"""The daemon's own sinks (stdout JSON lines; the readings' log lines: tests/sinks/
test_journal_lines.py) and its wiring of the MQTT and BLE sinks
from config.toml settings."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

from gatewayd.config.load import load_config
from gatewayd.daemon.app import build_sinks
from gatewayd.meters.model import from_dict
from gatewayd.sinks.ble import BleSink
from gatewayd.sinks.mqtt import MqttSink
from gatewayd.sinks.stdout import StdoutSink

READING = {
    "id": "76348799",
    "manufacturer": "KAM",
    "meter": "kamwater",
    "rssi_dbm": -71.5,
    "total_m3": 6.408,
    "alarms": {"leak": True, "dry": False},
    "records": [],
}


async def test_stdout_sink_writes_one_json_line_per_reading_and_drains_on_stop() -> None:
    out = io.StringIO()
    sink = StdoutSink(out)
    await sink.start()
    for i in range(50):
        sink.publish(from_dict({**READING, "total_m3": i}))
    await sink.stop(5)
    lines = out.getvalue().splitlines()
    assert [json.loads(x)["total_m3"] for x in lines] == list(range(50))
    assert sink.stats()["dropped"] == 0 and sink.stats()["written"] == 50


async def test_stdout_sink_drops_oldest_when_full() -> None:
    out = io.StringIO()
    sink = StdoutSink(out, max_queue=3)
    for i in range(5):  # not started: nothing is written, the queue overflows
        sink.publish(from_dict({**READING, "total_m3": i}))
    assert sink.stats()["dropped"] == 2
    await sink.start()
    await sink.stop(5)
    assert [json.loads(x)["total_m3"] for x in out.getvalue().splitlines()] == [2, 3, 4]


async def test_mqtt_and_ble_sinks_are_built_from_config(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[gateway]\nid = "site-9"\nstate_dir = "{tmp_path}"\n'
        '[mqtt]\nhost = "127.0.0.1"\nport = 1884\nprefix = "ms"\npassword = "pw-secret"\n'
        '[ble]\nsecurity = "encrypted"\nbus_address = "unix:path=/nonexistent"\n'
        "[stdout]\nenabled = true\n"
    )
    cfg.chmod(0o600)  # a password in config.toml is accepted only where nobody else reads it
    config = load_config(cfg, credentials_dir=None)
    sinks = build_sinks(config, journal=True, stats=dict)
    by_name = {s.name: s for s in sinks}
    assert sorted(by_name) == ["ble", "journal", "mqtt", "stdout"]
    mqtt_sink, ble_sink = by_name["mqtt"], by_name["ble"]
    assert isinstance(mqtt_sink, MqttSink) and isinstance(ble_sink, BleSink)
    mqtt = mqtt_sink.settings
    assert (mqtt.gateway_id, mqtt.host, mqtt.port, mqtt.prefix) == (
        "site-9",
        "127.0.0.1",
        1884,
        "ms",
    )
    assert mqtt.password is not None and mqtt.password.value == "pw-secret"
    assert mqtt.state_dir == tmp_path
    ble = ble_sink.settings
    assert (ble.gateway_id, ble.security, ble.adapter) == ("site-9", "encrypted", "hci0")
    for s in sinks:  # nothing was started; stopping must still be clean
        await asyncio.wait_for(s.stop(1), 5)
