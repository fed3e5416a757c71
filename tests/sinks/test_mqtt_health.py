"""Per-meter health over MQTT: retained `health/<id>` messages on a real mosquitto, valid
against health.schema.json, refreshed with the stats, cleared when a meter leaves the config."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import jsonschema

from gatewayd.sinks.base import HealthReport
from gatewayd.sinks.mqtt import MqttSink
from gatewayd.sinks.mqtt.payload import Topics, health_payload
from tests.conftest import REPO
from tests.sinks.conftest import Broker, Subscriber
from tests.sinks.test_mqtt_delivery import BASE, GW, on, settings

HEALTH_SCHEMA = json.loads((REPO / "gatewayd/sinks/mqtt/health.schema.json").read_text())
A, B = "11223344", "55667788"
SEEN = 1_795_682_430.0  # 2026-11-26T08:40:30Z


def test_the_health_topic_and_payload() -> None:
    assert Topics("metersync", "gw").health(A) == "metersync/gw/health/11223344"
    body = json.loads(health_payload(HealthReport(A, "kitchen", "silent", SEEN, 16.0, -71, 9)))
    assert body == {
        "id": A,
        "name": "kitchen",
        "state": "silent",
        "last_seen": "2026-11-26T08:40:30Z",
        "interval_s": 16.0,
        "rssi_dbm": -71,
        "telegrams": 9,
    }
    jsonschema.Draft202012Validator.check_schema(HEALTH_SCHEMA)
    jsonschema.validate(body, HEALTH_SCHEMA)
    never = json.loads(health_payload(HealthReport(A, A, "never_heard", None, None, None, 0)))
    jsonschema.validate(never, HEALTH_SCHEMA)
    for bad in ({**body, "state": "gone"}, {**body, "last_seen": "yesterday"}, {"id": A}):
        try:
            jsonschema.validate(bad, HEALTH_SCHEMA)
        except jsonschema.ValidationError:
            continue
        raise AssertionError(f"schema accepted {bad}")


async def test_health_is_retained_refreshed_with_the_stats_and_cleared_on_removal(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    sub: Subscriber = subscribe(broker.port, f"{BASE}/health/#")
    now = {A: HealthReport(A, "kitchen", "ok", SEEN, 16.0, -70, 3)}
    now[B] = HealthReport(B, "hall", "never_heard", None, None, None, 0)
    sink = MqttSink(settings(broker, tmp_path, stats_interval_s=0.3))
    sink.attach_health(lambda: list(now.values()))
    sink.health_changed(list(now.values()))  # before the first connect: sent on connect
    await sink.start()
    try:
        msgs = await sub.wait_for(lambda ms: len({m.topic for m in ms}) == 2)
        for m in msgs:
            assert m.retain and m.qos == 1
            jsonschema.validate(json.loads(m.payload), HEALTH_SCHEMA)
        assert json.loads(on(msgs, f"{BASE}/health/{B}")[0].payload)["state"] == "never_heard"
        # a change of state goes out at once
        now[A] = HealthReport(A, "kitchen", "silent", SEEN, 16.0, -70, 3)
        sink.health_changed([now[A]])
        await sub.wait_for(lambda ms: json.loads(ms[-1].payload)["state"] == "silent")
        # otherwise each meter's latest health goes out with the stats
        now[A] = HealthReport(A, "kitchen", "ok", SEEN + 16, 16.0, -69, 4)
        await sub.wait_for(lambda ms: json.loads(ms[-1].payload)["telegrams"] == 4, timeout=10)
        # removed from the config: an empty retained message clears the topic
        del now[B]
        sink.health_changed([], removed=[B])
        await sub.wait_for(lambda ms: ms[-1].topic == f"{BASE}/health/{B}" and not ms[-1].payload)
    finally:
        await sink.stop(2.0)
    late: Subscriber = subscribe(broker.port, f"{BASE}/health/#", persistent=False)
    await late.wait_for(lambda ms: len(ms) >= 1)
    await asyncio.sleep(0.5)  # every retained message arrives together on subscribe
    retained = late.snapshot()
    assert [m.topic for m in retained] == [f"{BASE}/health/{A}"]  # B's is gone
    assert json.loads(retained[0].payload)["last_seen"] == "2026-11-26T08:40:46Z"
    assert GW in retained[0].topic
