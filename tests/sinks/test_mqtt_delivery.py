"""Readings reach a real mosquitto with the right topics, payloads, retain flags and QoS."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gatewayd.daemon.handoff import Handoff
from gatewayd.meters.model import from_dict
from gatewayd.sinks.mqtt import MqttSettings, MqttSink
from gatewayd.sinks.mqtt.discovery import discovery_configs
from gatewayd.sinks.mqtt.ha_gateway import gateway_configs
from gatewayd.sinks.mqtt.payload import Topics
from gatewayd.sinks.outbox import Outbox
from tests.conftest import REPO
from tests.sinks.conftest import Broker, Msg, Subscriber
from tests.sinks.mqtt_readings import KAMSTRUP, numbered, seq_of

SCHEMA = json.loads((REPO / "gatewayd/sinks/mqtt/reading.schema.json").read_text())
GW = "site-17"
BASE = f"metersync/{GW}"


def settings(broker: Broker, tmp_path: Path, **kw: Any) -> MqttSettings:
    return broker.settings(GW, tmp_path, **kw)


def on(msgs: list[Msg], topic: str) -> list[Msg]:
    return [m for m in msgs if m.topic == topic]


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
async def test_topics_payloads_retain_and_qos(
    broker: Broker, subscribe: Any, tmp_path: Path, protocol: str
) -> None:
    sub: Subscriber = subscribe(broker.port, f"{BASE}/#")
    provided = {"frames": 42, "decoded": 40}
    sink = MqttSink(
        settings(broker, tmp_path, protocol=protocol, stats_interval_s=0.2),
        stats_provider=lambda: provided,
    )
    await sink.start()
    alarm = {**KAMSTRUP, "alarms": {**KAMSTRUP["alarms"], "leak": True}}
    sink.publish(from_dict(KAMSTRUP))
    sink.publish(from_dict(numbered(7, "12345678")))
    sink.publish(from_dict(alarm), alarm_changed=True)
    msgs = await sub.wait_for(
        lambda ms: len(on(ms, f"{BASE}/meters/76348799")) == 2 and bool(on(ms, f"{BASE}/stats"))
    )

    (online, *_) = on(msgs, f"{BASE}/status")
    assert (online.payload, online.retain, online.qos) == (b"online", True, 1)

    first, second = on(msgs, f"{BASE}/meters/76348799")
    assert (first.retain, first.qos, second.retain, second.qos) == (True, 1, True, 1)
    assert json.loads(first.payload) == KAMSTRUP  # exactly as decoded
    assert json.loads(second.payload) == alarm
    (other,) = on(msgs, f"{BASE}/meters/12345678")
    assert seq_of(other.payload) == 7
    for m in (first, second, other):
        jsonschema.validate(json.loads(m.payload), SCHEMA)

    (alarm_msg,) = on(msgs, f"{BASE}/alarms/76348799")  # only for alarm_changed
    assert (alarm_msg.retain, alarm_msg.qos) == (False, 1)
    body = json.loads(alarm_msg.payload)
    assert body["active"] == ["dry", "leak"]
    assert body["alarms"]["leak"] is True

    stats = on(msgs, f"{BASE}/stats")[0]
    assert (stats.retain, stats.qos) == (False, 1)
    s = json.loads(stats.payload)
    assert s["frames"] == 42 and s["decoded"] == 40
    assert s["mqtt"]["connected"] == 1
    assert s["timestamp"].endswith("Z")

    await sink.stop(2.0)
    msgs = await sub.wait_for(lambda ms: on(ms, f"{BASE}/status")[-1].payload == b"offline")
    last = on(msgs, f"{BASE}/status")[-1]
    assert (last.retain, last.qos) == (True, 1)
    assert sink.stats()["delivered"] == 4 and sink.stats()["queued"] == 0

    # A subscriber arriving later gets the retained state: last reading per meter, offline.
    late: Subscriber = subscribe(broker.port, f"{BASE}/#", persistent=False)
    msgs = await late.wait_for(lambda ms: len(ms) >= 3)
    retained = {m.topic: m.payload for m in msgs if m.retain}
    assert retained[f"{BASE}/status"] == b"offline"
    assert json.loads(retained[f"{BASE}/meters/76348799"]) == alarm
    assert seq_of(retained[f"{BASE}/meters/12345678"]) == 7
    assert f"{BASE}/alarms/76348799" not in retained


async def test_stop_drains_a_burst_then_says_offline(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    sub: Subscriber = subscribe(broker.port, f"{BASE}/#")
    sink = MqttSink(settings(broker, tmp_path))
    await sink.start()
    for i in range(500):
        sink.publish(from_dict(numbered(i, f"{10_000_000 + i % 5}")))
    await sink.stop(5.0)
    assert sink.stats()["queued"] == 0
    assert sink.stats()["delivered"] == 500
    msgs = await sub.wait_for(lambda ms: bool(ms) and ms[-1].payload == b"offline")
    readings = [seq_of(m.payload) for m in msgs if "/meters/" in m.topic]
    assert readings == list(range(500))
    assert msgs[-1].payload == b"offline"


async def test_stop_with_broker_down_is_bounded_and_keeps_rows(
    broker_factory: Any, tmp_path: Path
) -> None:
    broker: Broker = broker_factory(start=False)
    cfg = settings(broker, tmp_path)
    sink = MqttSink(cfg)
    await sink.start()
    for i in range(5):
        sink.publish(from_dict(numbered(i)))
    await asyncio.sleep(0.3)
    t0 = time.monotonic()
    await sink.stop(1.0)
    assert time.monotonic() - t0 < 1.5
    box = Outbox(cfg.outbox_path, 100)
    assert [seq_of(e.payload) for e in box.after(0, 10)] == [0, 1, 2, 3, 4]
    box.close()


async def test_home_assistant_discovery_before_the_reading_and_on_reconnect(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    sub: Subscriber = subscribe(broker.port, "#")
    sink = MqttSink(settings(broker, tmp_path, ha_discovery=True))
    await sink.start()
    sink.publish(from_dict(KAMSTRUP))
    sink.publish(from_dict({**KAMSTRUP, "total_m3": 6.5}))  # same fields: no new configs
    topics = Topics("metersync", GW)
    expected = {
        c.topic: dict(c.config)
        for c in [
            *gateway_configs(topics, "homeassistant"),  # the gateway's device, announced at once
            *discovery_configs(from_dict(KAMSTRUP), topics, "homeassistant"),
        ]
    }
    msgs = await sub.wait_for(lambda ms: len(on(ms, f"{BASE}/meters/76348799")) == 2)
    disc = [m for m in msgs if m.topic.startswith("homeassistant/")]
    assert {m.topic: json.loads(m.payload) for m in disc} == expected
    assert len(disc) == len(expected) == 4 + 15  # sent once
    assert all(m.retain and m.qos == 1 for m in disc)
    first_reading = next(i for i, m in enumerate(msgs) if m.topic.endswith("/meters/76348799"))
    assert max(msgs.index(m) for m in disc) < first_reading

    broker.restart()  # the broker may have lost them: they are sent again on every connect
    n = len(sub.snapshot())

    def resent(ms: list[Msg]) -> bool:
        after = ms[n:]
        online = [
            i for i, m in enumerate(after) if m.topic == f"{BASE}/status" and m.payload == b"online"
        ]
        return bool(online) and {m.topic for m in after[online[-1] :]} >= set(expected)

    await sub.wait_for(resent, timeout=15)
    await sink.stop(2.0)


async def test_readings_within_the_commit_window_reach_the_broker_from_one_commit(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    """The daemon's hand-off with a window: telegrams heard one by one go to disk in one
    commit, and only then to the broker, in order."""
    sub: Subscriber = subscribe(broker.port, f"{BASE}/meters/#")
    sink = MqttSink(settings(broker, tmp_path))
    await sink.start()
    handoff = Handoff([sink], window_s=0.5)
    before = sink._outbox.commits
    for i in range(10):  # 10 ms apart, like a radio at 100 telegrams/s
        handoff.publish(from_dict(numbered(i)), False)
        await asyncio.sleep(0.01)
    assert sub.snapshot() == []  # still in the window: not stored, so not sent
    msgs = await sub.wait_for(lambda ms: len(ms) == 10)
    assert [seq_of(m.payload) for m in msgs] == list(range(10))
    assert sink._outbox.commits - before == 1
    await sink.stop(2.0)
    assert sink.stats()["delivered"] == 10 and sink.stats()["queued"] == 0
