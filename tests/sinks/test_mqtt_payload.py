"""Pure MQTT knowledge: topics, payload bytes, the reading schema (Home Assistant discovery:
test_ha_discovery.py)."""

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
from gatewayd.meters.jsonbytes import to_json
from gatewayd.meters.model import from_dict
from gatewayd.sinks.mqtt.payload import Topics, alarm_payload
from tests.conftest import REPO, load_vectors, shared_vector_files
from tests.sinks.mqtt_readings import KAMSTRUP

SCHEMA = json.loads((REPO / "gatewayd/sinks/mqtt/reading.schema.json").read_text())
TOPICS = Topics("metersync", "site-17")


def test_topics_follow_design_4_3() -> None:
    assert TOPICS.meter("76348799") == "metersync/site-17/meters/76348799"
    assert TOPICS.alarms("76348799") == "metersync/site-17/alarms/76348799"
    assert TOPICS.status == "metersync/site-17/status"
    assert TOPICS.stats == "metersync/site-17/stats"
    assert TOPICS.health("76348799") == "metersync/site-17/health/76348799"


def test_payload_is_the_reading_exactly_in_its_key_order() -> None:
    raw = to_json(KAMSTRUP)
    assert json.loads(raw) == KAMSTRUP
    assert list(json.loads(raw)) == list(KAMSTRUP)
    assert b" " not in raw.replace(b"cold water", b"").replace(b"22-31 days", b"")


def test_payload_refuses_nan() -> None:
    with pytest.raises(ValueError):
        to_json({"id": "76348799", "total_m3": math.nan})


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_payload_refuses_non_finite_numbers_anywhere(bad: float) -> None:
    with pytest.raises(ValueError):
        to_json({"id": "76348799", "rssi_dbm": None, "records": [{"value": 1}, {"value": bad}]})


def test_payload_takes_what_the_fast_encoder_does_not() -> None:
    from types import MappingProxyType

    obj: dict[Any, Any] = {"id": "76348799", "big": 2**70, "fields": MappingProxyType({"a": 1})}
    obj[7] = "x"
    assert json.loads(to_json({k: v for k, v in obj.items() if k != "fields"})) == {
        "id": "76348799",
        "big": 2**70,
        "7": "x",
    }
    with pytest.raises(TypeError):  # as before: a mapping proxy is not JSON
        to_json(obj)


def test_alarm_payload_lists_active_flags() -> None:
    a = json.loads(alarm_payload(from_dict(KAMSTRUP)))
    assert a == {
        "id": "76348799",
        "meter": "multical21",
        "timestamp": "2026-11-26T08:40:30Z",
        "alarms": KAMSTRUP["alarms"],
        "active": ["dry"],
    }


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
                reading = build_reading(tg, state=state, rssi_dbm=-70.5).to_dict()
            except TelegramError:  # not decoded, or (UnreadDataError) no driver reads its data
                continue
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
