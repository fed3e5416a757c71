"""Home Assistant discovery against a real mosquitto: the retained configs appear, and what a
removed meter, a renamed gateway or discovery turned off leaves behind is taken back (empty
retained messages), across restarts of the gateway and of the broker."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from gatewayd.meters.model import from_dict
from gatewayd.sinks.mqtt import MqttSettings, MqttSink
from gatewayd.sinks.mqtt.discovery import discovery_configs
from gatewayd.sinks.mqtt.ha_gateway import gateway_configs
from gatewayd.sinks.mqtt.ha_state import ANNOUNCED_FILE, Discovery
from gatewayd.sinks.mqtt.payload import Topics
from gatewayd.sinks.outbox import Outbox
from tests.sinks.announced import recorded_state
from tests.sinks.conftest import Broker, Msg, Subscriber
from tests.sinks.mqtt_readings import numbered

HA = "homeassistant"
A, B = "11111111", "22222222"


def settings(broker: Broker, tmp_path: Path, gateway: str = "site-17", **kw: Any) -> MqttSettings:
    return broker.settings(gateway, tmp_path, **{"ha_discovery": True, **kw})


def meter_topics(meter: str, gateway: str = "site-17") -> set[str]:
    topics = Topics("metersync", gateway)
    configs = discovery_configs(from_dict(numbered(1, meter)), topics, HA)
    return {c.topic for c in configs} | {topics.meter(meter)}


def gateway_topics(gateway: str = "site-17") -> set[str]:
    return {c.topic for c in gateway_configs(Topics("metersync", gateway), HA)}


async def retained(subscribe: Any, port: int, expect: set[str]) -> dict[str, bytes]:
    """What a new subscriber gets as retained messages: waits for `expect`, then a moment
    more for anything else the broker holds."""
    sub: Subscriber = subscribe(port, "#", persistent=False)
    await sub.wait_for(lambda ms: expect <= {m.topic for m in ms if m.retain})
    await asyncio.sleep(0.5)
    return {m.topic: m.payload for m in sub.snapshot() if m.retain}


def cleared(topics: set[str]) -> Any:
    def pred(ms: list[Msg]) -> bool:
        return topics <= {m.topic for m in ms if m.payload == b"" and m.retain}

    return pred


async def run_sink(sink: MqttSink, *meters: str) -> None:
    await sink.start()
    for i, m in enumerate(meters):
        sink.publish(from_dict(numbered(i, m)))


async def test_discovery_configs_are_retained_with_the_gateway_device(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    sink = MqttSink(settings(broker, tmp_path), meters=[A])
    await run_sink(sink, A)
    want = meter_topics(A) | gateway_topics()
    got = await retained(subscribe, broker.port, want)
    await sink.stop(1.0)
    assert set(got) >= want
    via = {json.loads(got[t])["device"]["via_device"] for t in meter_topics(A) if t.startswith(HA)}
    gateway_ids = {json.loads(got[t])["device"]["identifiers"][0] for t in gateway_topics()}
    assert via == gateway_ids == {"metersync_gateway_site-17"}
    doc = json.loads((tmp_path / "state" / ANNOUNCED_FILE).read_text())
    assert set(doc["configs"]) == {A, "gateway"}
    assert recorded_state(json.dumps(doc))[A] == {"metersync/site-17/meters/11111111",
                                                  "metersync/site-17/health/11111111"}  # fmt: skip


async def test_a_meter_removed_while_the_daemon_was_down_is_cleared_at_start(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    first = MqttSink(settings(broker, tmp_path), meters=[A, B])
    await run_sink(first, A, B)
    await retained(subscribe, broker.port, meter_topics(A) | meter_topics(B))
    await first.stop(1.0)

    watch: Subscriber = subscribe(broker.port, "#")
    second = MqttSink(settings(broker, tmp_path), meters=[A])  # B left the config
    await second.start()
    await watch.wait_for(cleared(meter_topics(B)))
    got = await retained(subscribe, broker.port, meter_topics(A))
    await second.stop(1.0)
    assert not meter_topics(B) & set(got)  # no ghost device, no stale reading
    assert meter_topics(A) <= set(got)  # A keeps its device and its last reading
    doc = json.loads((tmp_path / "state" / ANNOUNCED_FILE).read_text())
    assert B not in doc["configs"] and B not in recorded_state(json.dumps(doc))
    assert doc["clearing"] == []


async def test_a_meter_removed_by_a_reload_is_cleared_and_not_announced_again(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    sink = MqttSink(settings(broker, tmp_path), meters=[A, B])
    await run_sink(sink, A, B)
    await retained(subscribe, broker.port, meter_topics(B))
    watch: Subscriber = subscribe(broker.port, "#")
    sink.health_changed([], [B])  # what the daemon calls when a reload drops B
    await watch.wait_for(cleared(meter_topics(B)))
    n = len(watch.snapshot())
    broker.restart()  # the sink reconnects and announces what it knows again: not B

    def announced_again(ms: list[Msg]) -> bool:
        after = ms[n:]
        online = any(
            m.topic == "metersync/site-17/status" and m.payload == b"online" for m in after
        )
        return online and meter_topics(A) - {"metersync/site-17/meters/11111111"} <= {
            m.topic for m in after
        }

    await watch.wait_for(announced_again, 15)
    got = await retained(subscribe, broker.port, meter_topics(A) | gateway_topics())
    await sink.stop(1.0)
    assert not meter_topics(B) & set(got)


async def test_a_removed_meters_clear_survives_an_outbox_overflow(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    first = MqttSink(settings(broker, tmp_path), meters=[A, B])
    await run_sink(first, A, B)
    await retained(subscribe, broker.port, meter_topics(B))
    await first.stop(1.0)
    broker.stop()  # the broker is away while B leaves the config and A's readings pile up

    second = MqttSink(settings(broker, tmp_path, outbox_max=5), meters=[A])  # clears B at start
    await second.start()
    for n in range(20):  # four times what the outbox holds: the oldest rows are dropped
        second.publish(from_dict(numbered(n, A)))
    assert second.stats()["dropped"] > 0
    broker.start()
    last = f"metersync/site-17/meters/{A}"
    watch: Subscriber = subscribe(broker.port, last, persistent=False)
    await watch.wait_for(lambda ms: any(json.loads(m.payload)["total_m3"] == 0.019 for m in ms))
    # B's clears were queued before A's readings and are delivered in order: done by now
    got = await retained(subscribe, broker.port, meter_topics(A))
    await second.stop(1.0)
    assert not meter_topics(B) & set(got)  # no stale reading of B left on the broker
    assert meter_topics(A) <= set(got)


async def test_discovery_turned_off_clears_the_configs_and_keeps_the_readings(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    first = MqttSink(settings(broker, tmp_path), meters=[A])
    await run_sink(first, A)
    await retained(subscribe, broker.port, meter_topics(A) | gateway_topics())
    await first.stop(1.0)
    configs = (meter_topics(A) | gateway_topics()) - {"metersync/site-17/meters/11111111"}

    watch: Subscriber = subscribe(broker.port, "#")
    second = MqttSink(settings(broker, tmp_path, ha_discovery=False), meters=[A])
    await second.start()
    await watch.wait_for(cleared(configs))
    got = await retained(subscribe, broker.port, {"metersync/site-17/meters/11111111"})
    await second.stop(1.0)
    assert not configs & set(got)
    assert json.loads(got["metersync/site-17/meters/11111111"])["id"] == A


async def test_a_renamed_gateway_keeps_the_meter_entities_and_clears_its_old_topics(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    first = MqttSink(settings(broker, tmp_path, gateway="pi-old"), meters=[A])
    await run_sink(first, A)
    await retained(subscribe, broker.port, meter_topics(A, "pi-old") | gateway_topics("pi-old"))
    await first.stop(1.0)

    watch: Subscriber = subscribe(broker.port, "#")
    second = MqttSink(settings(broker, tmp_path, gateway="pi-new"), meters=[A])
    await run_sink(second, A)
    stale = gateway_topics("pi-old") | {"metersync/pi-old/meters/11111111"}
    await watch.wait_for(cleared(stale))
    got = await retained(subscribe, broker.port, meter_topics(A, "pi-new"))
    await second.stop(1.0)
    assert not stale & set(got)
    assert meter_topics(A, "pi-old") - stale == meter_topics(A, "pi-new") - {
        "metersync/pi-new/meters/11111111"
    }  # the same config topics (and unique ids) ...
    total = json.loads(got[f"{HA}/sensor/metersync_{A}/total_m3/config"])
    assert total["state_topic"] == "metersync/pi-new/meters/11111111"  # ... fed by the new id


# What a release that keyed the meter's device on the gateway id retained for meter A (node
# `<prefix>_<gateway>_<id>`): a sensor per value and status field, the signal strength, a
# binary sensor per alarm, each naming that old device.
OLD_NODE = f"metersync_site-17_{A}"
OLD_SENSORS = (
    "total_m3",
    "target_m3",
    "flow_temperature_c",
    "min_external_temperature_last_month_c",
    "current_status",
    "status",
    "rssi_dbm",
)
OLD_ALARMS = ("dry", "reverse", "leak", "burst", "tamper")
OLD_CONFIGS = {f"{HA}/sensor/{OLD_NODE}/{o}/config" for o in OLD_SENSORS} | {
    f"{HA}/binary_sensor/{OLD_NODE}/alarm_{f}/config" for f in OLD_ALARMS
}


def _old_config(topic: str) -> str:
    obj = topic.split("/")[3]
    return json.dumps(
        {
            "name": obj,
            "unique_id": f"{OLD_NODE}_{obj}",
            "state_topic": f"metersync/site-17/meters/{A}",
            "device": {"identifiers": [OLD_NODE], "name": f"multical21 {A}"},
        }
    )


def _retain_old_configs(port: int) -> None:
    from paho.mqtt import publish

    msgs: list[Any] = [
        {"topic": t, "payload": _old_config(t), "qos": 1, "retain": True}
        for t in sorted(OLD_CONFIGS)
    ]
    publish.multiple(msgs, hostname="127.0.0.1", port=port)


async def test_an_upgrade_clears_the_configs_keyed_on_the_gateway_id(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    await asyncio.to_thread(_retain_old_configs, broker.port)
    await retained(subscribe, broker.port, OLD_CONFIGS)  # the broker holds the old device

    old = settings(broker, tmp_path)
    old.state_dir.mkdir(parents=True)
    Outbox(old.outbox_path, 10).close()  # the old release's outbox, and no ha-announced.json
    watch: Subscriber = subscribe(broker.port, "#")
    sink = MqttSink(old, meters=[A])  # the upgraded daemon's first start
    await run_sink(sink, A)
    await watch.wait_for(cleared(OLD_CONFIGS))
    got = await retained(subscribe, broker.port, meter_topics(A) | gateway_topics())
    await sink.stop(1.0)
    assert not OLD_CONFIGS & set(got)
    devices = {
        json.loads(payload)["device"]["identifiers"][0]
        for topic, payload in got.items()
        if topic.startswith(f"{HA}/") and topic not in gateway_topics()
    }
    assert devices == {f"metersync_{A}"}  # one device for the meter in Home Assistant
    doc = json.loads((tmp_path / "state" / ANNOUNCED_FILE).read_text())
    assert doc["clearing"] == []  # every clear acknowledged: not sent again at the next start

    again = Discovery(tmp_path / "state" / ANNOUNCED_FILE)  # a restart: A is on record now
    again.update(A, (("ha/sensor/n/a/config", b"{}"),), sorted(OLD_CONFIGS))
    assert not set(again.clears_since(0)) & OLD_CONFIGS


# ------------------------------------------------------------------ the registry on its own


def test_registry_survives_a_restart_and_a_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / ANNOUNCED_FILE
    d = Discovery(path)
    d.update(A, (("ha/sensor/n/a/config", b"{}"), ("ha/sensor/n/b/config", b"{}")))
    assert d.clears_since(0) == []
    d.update(A, (("ha/sensor/n/a/config", b"{}"),))  # b is no longer announced: cleared
    assert d.clears_since(0) == ["ha/sensor/n/b/config"]
    again = Discovery(path)  # a restart before the broker acknowledged the clear
    assert again.clears_since(0) == ["ha/sensor/n/b/config"]
    assert again.owners() == {A}
    again.cleared("ha/sensor/n/b/config")
    assert Discovery(path).clears_since(0) == []
    path.write_text("{not json")
    fresh = Discovery(path)
    assert fresh.owners() == set() and fresh.clears_since(0) == []


def test_stats_carry_the_frame_rate_for_the_gateway_device(tmp_path: Path) -> None:
    counts = {"frames": 100, "uptime_s": 10}
    s = MqttSettings(gateway_id="g", state_dir=tmp_path)
    sink = MqttSink(s, stats_provider=lambda: dict(counts))
    first = sink._stats_payload()["frames_per_s"]
    assert 0 < first <= 100 / 10  # since the start: 100 frames in (a little over) 10 s
    assert sink._stats_payload()["frames_per_s"] == 0.0  # none since the last message
    counts["frames"] = 90  # a counter that went back (never negative)
    assert sink._stats_payload()["frames_per_s"] == 0.0
    assert "frames_per_s" not in MqttSink(s)._stats_payload()  # no daemon counters, no rate


async def test_a_removal_while_stopping_is_left_to_the_next_start(tmp_path: Path) -> None:
    s = MqttSettings(gateway_id="g", state_dir=tmp_path, ha_discovery=True)
    sink = MqttSink(s, meters=[A])
    sink.publish(from_dict(numbered(1, A)))
    await sink.stop(0.1)
    sink.health_changed([], [A])  # a reload racing the shutdown: nothing to write to
    assert sink.stats()["errors"] == 0
    doc = json.loads((tmp_path / ANNOUNCED_FILE).read_text())
    assert A in doc["configs"]  # still known: the next start (without A) clears it
