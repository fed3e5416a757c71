"""Pure MQTT knowledge: topics, payload bytes, Home Assistant discovery, the reading schema."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gatewayd.config.secrets import Secret
from gatewayd.config.sections import MqttSettings
from gatewayd.errors import backoff_delay
from gatewayd.meters.model import from_dict
from gatewayd.sinks.mqtt.discovery import discovery_configs
from gatewayd.sinks.mqtt.payload import Topics, alarm_payload, to_json
from tests.conftest import REPO, load_vectors, shared_vector_files
from tests.sinks.mqtt_readings import KAMSTRUP

SCHEMA = json.loads((REPO / "gatewayd/sinks/mqtt/reading.schema.json").read_text())
TOPICS = Topics("metersync", "site-17")
NODE = "metersync_site-17_76348799"


def test_topics_follow_design_4_3() -> None:
    assert TOPICS.meter("76348799") == "metersync/site-17/meters/76348799"
    assert TOPICS.alarms("76348799") == "metersync/site-17/alarms/76348799"
    assert TOPICS.status == "metersync/site-17/status"
    assert TOPICS.stats == "metersync/site-17/stats"


def test_payload_is_the_reading_exactly_in_its_key_order() -> None:
    raw = to_json(KAMSTRUP)
    assert json.loads(raw) == KAMSTRUP
    assert list(json.loads(raw)) == list(KAMSTRUP)
    assert b" " not in raw.replace(b"cold water", b"").replace(b"22-31 days", b"")


def test_payload_refuses_nan() -> None:
    with pytest.raises(ValueError):
        to_json({"id": "76348799", "total_m3": math.nan})


def test_alarm_payload_lists_active_flags() -> None:
    a = json.loads(alarm_payload(from_dict(KAMSTRUP)))
    assert a == {
        "id": "76348799",
        "meter": "multical21",
        "timestamp": "2026-11-26T08:40:30Z",
        "alarms": KAMSTRUP["alarms"],
        "active": ["dry"],
    }


# ------------------------------------------------------------------ Home Assistant discovery


def _configs() -> dict[str, dict[str, Any]]:
    return {
        c.topic: dict(c.config)
        for c in discovery_configs(from_dict(KAMSTRUP), TOPICS, "homeassistant")
    }


DEVICE = {
    "identifiers": [NODE],
    "name": "multical21 76348799",
    "manufacturer": "KAM",
    "model": "multical21",
    "serial_number": "76348799",
}
COMMON = {
    "state_topic": "metersync/site-17/meters/76348799",
    "availability_topic": "metersync/site-17/status",
    "payload_available": "online",
    "payload_not_available": "offline",
    "device": DEVICE,
}


def test_discovery_topics_one_device_per_meter() -> None:
    configs = _configs()
    assert set(configs) == {
        f"homeassistant/sensor/{NODE}/rssi_dbm/config",
        f"homeassistant/sensor/{NODE}/total_m3/config",
        f"homeassistant/sensor/{NODE}/target_m3/config",
        f"homeassistant/sensor/{NODE}/flow_temperature_c/config",
        f"homeassistant/sensor/{NODE}/min_external_temperature_last_month_c/config",
        f"homeassistant/sensor/{NODE}/current_status/config",
        f"homeassistant/sensor/{NODE}/status/config",
        f"homeassistant/binary_sensor/{NODE}/alarm_dry/config",
        f"homeassistant/binary_sensor/{NODE}/alarm_reverse/config",
        f"homeassistant/binary_sensor/{NODE}/alarm_leak/config",
        f"homeassistant/binary_sensor/{NODE}/alarm_burst/config",
        f"homeassistant/binary_sensor/{NODE}/alarm_tamper/config",
    }
    unique_ids = [c["unique_id"] for c in configs.values()]
    assert len(set(unique_ids)) == len(unique_ids)
    assert all(c["device"] == DEVICE for c in configs.values())


def test_discovery_volume_is_water_total_increasing_in_cubic_metres() -> None:
    assert _configs()[f"homeassistant/sensor/{NODE}/total_m3/config"] == {
        "name": "Total m3",
        "unique_id": f"{NODE}_total_m3",
        **COMMON,
        "value_template": "{{ value_json.total_m3 }}",
        "unit_of_measurement": "m³",
        "device_class": "water",
        "state_class": "total_increasing",
    }


def test_discovery_billing_snapshot_is_a_total_not_increasing() -> None:
    c = _configs()[f"homeassistant/sensor/{NODE}/target_m3/config"]
    assert (c["device_class"], c["state_class"], c["unit_of_measurement"]) == (
        "water",
        "total",
        "m³",
    )


def test_discovery_temperatures() -> None:
    for field in ("flow_temperature_c", "min_external_temperature_last_month_c"):
        c = _configs()[f"homeassistant/sensor/{NODE}/{field}/config"]
        assert c["device_class"] == "temperature"
        assert c["unit_of_measurement"] == "°C"
        assert c["state_class"] == "measurement"
        assert c["value_template"] == "{{ value_json.%s }}" % field  # noqa: UP031


def test_discovery_alarms_are_binary_sensors() -> None:
    configs = _configs()
    leak = configs[f"homeassistant/binary_sensor/{NODE}/alarm_leak/config"]
    assert leak == {
        "name": "Alarm leak",
        "unique_id": f"{NODE}_alarm_leak",
        **COMMON,
        "value_template": "{{ 'ON' if value_json.alarms.leak else 'OFF' }}",
        "payload_on": "ON",
        "payload_off": "OFF",
        "device_class": "moisture",
    }
    classes = {
        flag: configs[f"homeassistant/binary_sensor/{NODE}/alarm_{flag}/config"]["device_class"]
        for flag in ("dry", "reverse", "leak", "burst", "tamper")
    }
    assert classes == {
        "dry": "problem",
        "reverse": "problem",
        "leak": "moisture",
        "burst": "moisture",
        "tamper": "tamper",
    }


def test_discovery_rssi_is_a_diagnostic() -> None:
    c = _configs()[f"homeassistant/sensor/{NODE}/rssi_dbm/config"]
    assert (c["device_class"], c["unit_of_measurement"], c.get("entity_category")) == (
        "signal_strength",
        "dBm",
        "diagnostic",
    )


def test_discovery_heat_meter_flow_energy_power() -> None:
    # multical403/My403Cooling#1 expected fields (shared vectors), abridged.
    heat = {
        "id": "78780102",
        "meter": "kamheat",
        "media": "cooling load volume at outlet",
        "total_energy_consumption_kwh": 723.611111,
        "target_energy_kwh": 239.722222,
        "volume_flow_m3h": 0.237,
        "max_power_kw": -2.5,
        "t1_temperature_c": 17.24,
        "forward_energy_m3c": 65528,
    }
    configs = {
        c.topic.split("/")[3]: c.config
        for c in discovery_configs(from_dict(heat), TOPICS, "homeassistant")
    }
    summary = {
        k: (v["device_class"], v["state_class"], v["unit_of_measurement"])
        for k, v in configs.items()
    }
    assert summary == {
        "total_energy_consumption_kwh": ("energy", "total_increasing", "kWh"),
        "target_energy_kwh": ("energy", "total", "kWh"),
        "volume_flow_m3h": ("volume_flow_rate", "measurement", "m³/h"),
        "max_power_kw": ("power", "measurement", "kW"),
        "t1_temperature_c": ("temperature", "measurement", "°C"),
    }  # forward_energy_m3c (m³·°C) has no Home Assistant unit: no entity


def test_discovery_gas_volume() -> None:
    gas = {"id": "12345678", "meter": "oms", "media": "gas", "total_m3": 1.5}
    (c,) = discovery_configs(from_dict(gas), TOPICS, "homeassistant")
    assert c.config["device_class"] == "gas"


def test_discovery_refuses_a_reading_without_id() -> None:
    with pytest.raises(ValueError):
        discovery_configs(from_dict({"total_m3": 1.0}), TOPICS, "homeassistant")


# ------------------------------------------------------------------ backoff, settings


def test_backoff_doubles_is_capped_and_jittered() -> None:
    lo_rnd = [backoff_delay(n, 0.5, 30, lambda: 0.0) for n in range(1, 10)]
    hi_rnd = [backoff_delay(n, 0.5, 30, lambda: 0.999999) for n in range(1, 10)]
    assert lo_rnd == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0]
    assert [round(x, 3) for x in hi_rnd] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert backoff_delay(10_000, 0.5, 30, lambda: 0.5) == 22.5


def test_settings_defaults_and_validation(tmp_path: Path) -> None:
    s = MqttSettings(gateway_id="site-17", state_dir=tmp_path, password=Secret("hunter22"))
    assert s.effective_client_id == "gatewayd-site-17"
    assert s.prefix == "metersync"
    assert s.outbox_path == tmp_path / "mqtt-outbox.sqlite3"
    assert "hunter22" not in repr(s)
    good = MqttSettings(gateway_id="g", state_dir=tmp_path)
    bad_changes: tuple[dict[str, Any], ...] = (
        {"protocol": "4"},
        {"outbox_max": 0},
        {"gateway_id": "a/b"},
        {"prefix": "x/#"},
        {"key_file": tmp_path / "k"},
        {"reconnect_min_s": 5.0, "reconnect_max_s": 1.0},
    )
    for bad in bad_changes:
        with pytest.raises(ValueError):
            dataclasses.replace(good, **bad)


# ------------------------------------------------------------------ the reading JSON Schema


def test_schema_is_valid_and_accepts_design_example() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(json.loads(to_json(KAMSTRUP)), SCHEMA)


@pytest.mark.parametrize(
    "change",
    [
        {"id": None},
        {"id": "7634879"},
        {"manufacturer": "kam"},
        {"timestamp": "2026-11-26 08:40:30"},
        {"version": 256},
        {"alarms": {"leak": "yes"}},
        {"records": [{"quantity": "volume", "value": 1}]},
        {"total_m3": [1, 2]},
    ],
)
def test_schema_rejects_malformed(change: dict[str, Any]) -> None:
    bad = {**KAMSTRUP, **change}
    bad = {k: v for k, v in bad.items() if v is not None}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)


def _decoded_readings() -> list[tuple[str, dict[str, Any]]]:
    """Real readings: every vector (the repo's own, and the shared corpus when present) through
    the real decoder and meter drivers."""
    from gatewayd.meters import MeterState, build_reading
    from gatewayd.wmbus.decode import Decoder
    from gatewayd.wmbus.errors import TelegramError
    from gatewayd.wmbus.link import FrameFormat

    out = []
    files = [REPO / "tests/vectors/own.jsonl", *shared_vector_files()]
    for v in load_vectors(files):
        key = bytes.fromhex(v["key"]) if v.get("key") else None
        decoder, state = Decoder(), MeterState()
        for i, t in enumerate(v["telegrams"]):
            frame = bytes.fromhex(t)
            if frame[:1] == b"\x68":
                continue  # wired M-Bus long frame: not ours
            try:
                tg = decoder.decode(frame, FrameFormat.CLEAN, key)
            except TelegramError:
                continue
            reading = build_reading(tg, state=state, rssi_dbm=-70.5).to_dict()
            out.append((f"{v['name']}#{i}", reading))
    return out


def test_schema_accepts_every_decoded_reading() -> None:
    readings = _decoded_readings()
    assert len(readings) >= 8
    validator = jsonschema.Draft202012Validator(SCHEMA)
    failures = {
        name: [e.message for e in validator.iter_errors(json.loads(to_json(r)))][:3]
        for name, r in readings
    }
    failures = {k: v for k, v in failures.items() if v}
    assert failures == {}


def test_docs_carry_the_schema_and_every_topic() -> None:
    doc = (REPO / "docs/mqtt.md").read_text()
    schema_text = (REPO / "gatewayd/sinks/mqtt/reading.schema.json").read_text().rstrip()
    assert schema_text in doc  # the schema integrators read is the one the tests use
    for topic in ("/meters/<id>", "/alarms/<id>", "/status", "/stats", "/config"):
        assert topic in doc
