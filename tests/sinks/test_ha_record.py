"""ha-announced.json keeps configured meters compactly (version 2: ids under the default state
prefixes), so a start builds nothing per configured meter; what it takes back is unchanged:
a meter removed while the daemon was down gets its reading and health topics cleared at the
broker, topics under an old gateway id or discovery prefix are cleared, version 1 files load."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from gatewayd.fsutil import write_atomically
from gatewayd.meters.model import from_dict
from gatewayd.sinks.base import HealthReport
from gatewayd.sinks.mqtt import MqttSettings, MqttSink, ha_state
from gatewayd.sinks.mqtt.ha_state import ANNOUNCED_FILE, Discovery
from gatewayd.sinks.outbox import Outbox
from tests.sinks.announced import recorded_state
from tests.sinks.conftest import Broker, Msg, Subscriber
from tests.sinks.mqtt_readings import numbered

A, B, C = "11111111", "22222222", "33333333"


def pair(meter: str, gateway: str = "site-17") -> set[str]:
    return {f"metersync/{gateway}/meters/{meter}", f"metersync/{gateway}/health/{meter}"}


def offline(tmp_path: Path, gateway: str = "site-17", **kw: Any) -> MqttSettings:
    """Settings for a broker that is not there: what a start stores, not what it sends."""
    return MqttSettings(gateway_id=gateway, state_dir=tmp_path, host="127.0.0.1", port=9, **kw)


def start(settings: MqttSettings, meters: list[str]) -> None:
    asyncio.run(MqttSink(settings, meters=meters).stop(0.1))


def stored_clears(settings: MqttSettings) -> list[str]:
    box = Outbox(settings.outbox_path, settings.outbox_max)
    try:
        return sorted(e.topic for e in box.after(0, 10_000) if e.payload == b"" and e.retain)
    finally:
        box.close()


def record(tmp_path: Path) -> dict[str, set[str]]:
    return recorded_state((tmp_path / ANNOUNCED_FILE).read_text())


async def test_meters_removed_while_down_get_reading_and_health_cleared_at_the_broker(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    """B was heard (a reading), C never was (only its health is retained): both are gone
    from the config at the next start, and both keep nothing retained at the broker."""
    health = [HealthReport(m, m, "never_heard", None, None, None, 0) for m in (A, B, C)]
    first = MqttSink(broker.settings("site-17", tmp_path), meters=[A, B, C])
    first.health_changed(health)
    await first.start()
    for i, m in enumerate((A, B)):
        first.publish(from_dict(numbered(i, m)))
    held = pair(A) | pair(B) | {"metersync/site-17/health/33333333"}
    late: Subscriber = subscribe(broker.port, "metersync/#", persistent=False)
    await late.wait_for(lambda ms: held <= {m.topic for m in ms if m.retain})
    await first.stop(1.0)

    watch: Subscriber = subscribe(broker.port, "metersync/#")
    second = MqttSink(broker.settings("site-17", tmp_path), meters=[A])
    await second.start()
    gone = pair(B) | pair(C)

    def cleared(ms: list[Msg]) -> bool:
        return gone <= {m.topic for m in ms if m.payload == b"" and m.retain}

    await watch.wait_for(cleared)
    await second.stop(1.0)
    after: Subscriber = subscribe(broker.port, "metersync/#", persistent=False)
    await after.wait_for(lambda ms: pair(A) <= {m.topic for m in ms if m.retain})
    await asyncio.sleep(0.5)  # every retained message arrives together on subscribe
    assert {m.topic for m in after.snapshot() if m.retain} & gone == set()
    assert record(tmp_path / "state") == {A: pair(A)}


def test_a_version_1_record_loads_and_what_it_says_is_taken_back(tmp_path: Path) -> None:
    """A file of the previous release: A stays, B left the config, C still has a reading
    retained under an old gateway id whose clear was not stored."""
    v1 = {
        "version": 1,
        "configs": {},
        "state": {
            A: sorted(pair(A)),
            B: sorted(pair(B)),
            C: sorted(pair(C) | {"metersync/old-gw/meters/33333333"}),
        },
        "clearing": [],
    }
    (tmp_path / ANNOUNCED_FILE).write_text(json.dumps(v1))
    settings = offline(tmp_path)
    start(settings, [A, C])
    assert stored_clears(settings) == sorted(pair(B) | {"metersync/old-gw/meters/33333333"})
    doc = json.loads((tmp_path / ANNOUNCED_FILE).read_text())
    assert doc["version"] == 2 and doc["state"] == {}  # rewritten, A and C as ids only
    assert record(tmp_path) == {A: pair(A), C: pair(C)}


def test_a_renamed_gateway_clears_the_old_topics_of_a_never_heard_meter(tmp_path: Path) -> None:
    start(offline(tmp_path, "pi-old"), [A])
    assert record(tmp_path) == {A: pair(A, "pi-old")}
    settings = offline(tmp_path, "pi-new")
    start(settings, [A])
    assert stored_clears(settings) == sorted(pair(A, "pi-old"))
    assert record(tmp_path) == {A: pair(A, "pi-new")}  # the old ones stored: off the record


def test_a_restart_that_changes_nothing_stores_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = offline(tmp_path, ha_discovery=True)
    start(settings, [A, B])
    written: list[str] = []
    monkeypatch.setattr(ha_state, "write_atomically", lambda _p, text: written.append(text))
    start(settings, [B, A])
    assert written == [] and stored_clears(settings) == []


async def test_a_changed_discovery_prefix_clears_the_configs_under_the_old_one(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    first = MqttSink(broker.settings("site-17", tmp_path, ha_discovery=True), meters=[A])
    await first.start()
    first.publish(from_dict(numbered(1, A)))
    old = f"homeassistant/sensor/metersync_{A}/total_m3/config"
    seen: Subscriber = subscribe(broker.port, "homeassistant/#", persistent=False)
    await seen.wait_for(lambda ms: old in {m.topic for m in ms if m.retain})
    await first.stop(1.0)

    watch: Subscriber = subscribe(broker.port, "homeassistant/#")
    settings = broker.settings("site-17", tmp_path, ha_discovery=True, ha_prefix="ha2")
    second = MqttSink(settings, meters=[A])
    await second.start()
    await watch.wait_for(lambda ms: any(m.topic == old and m.payload == b"" for m in ms))
    await second.stop(1.0)
    doc = json.loads((tmp_path / "state" / ANNOUNCED_FILE).read_text())
    assert doc["configs"].get(A, []) == [] and doc["clearing"] == []


def test_a_version_1_record_with_configs_under_an_old_prefix_clears_them(tmp_path: Path) -> None:
    """A version 1 file does not say where its configs were announced: they are checked."""
    stale = f"oldha/sensor/metersync_{A}/total_m3/config"
    kept = f"homeassistant/sensor/metersync_{A}/total_m3/config"
    v1 = {"version": 1, "configs": {A: [kept, stale]}, "state": {}, "clearing": []}
    (tmp_path / ANNOUNCED_FILE).write_text(json.dumps(v1))
    start(offline(tmp_path, ha_discovery=True), [A])
    doc = json.loads((tmp_path / ANNOUNCED_FILE).read_text())
    assert doc["configs"][A] == [kept] and doc["clearing"] == [stale]  # until acknowledged


@pytest.mark.parametrize("reload", [False, True], ids=["live", "reloaded"])
def test_the_file_says_what_the_record_holds_after_every_change(
    tmp_path: Path, reload: bool
) -> None:
    """The record is written when it changed (a dirty flag, not a comparison of the text):
    after each step a fresh load of the file holds what the live record does. `reloaded`:
    each step acts on the record as just read from the file (configs not looked at yet)."""
    path, prefixes = tmp_path / ANNOUNCED_FILE, ("m/", "h/")
    d = Discovery(path, state_prefixes=prefixes)
    steps: list[Any] = [
        lambda: d.note_default_state(frozenset({A, B})),
        lambda: d.update(A, (("ha/sensor/n/a/config", b"{}"), ("ha/sensor/n/b/config", b"{}"))),
        lambda: d.update(A, (("ha/sensor/n/a/config", b"{}"),)),
        lambda: d.note_state(C, {"old/" + C}),
        lambda: d.note_state(C, {"m/" + C, "h/" + C}),
        lambda: d.state_stored(C, ["old/" + C]),
        lambda: d.forget(B),
        lambda: d.state_stored(B, ["m/" + B]),
        lambda: d.state_stored(B, ["h/" + B]),
        lambda: d.cleared("ha/sensor/n/b/config"),
        lambda: d.keep_only(A, ["elsewhere/"]),
        d.forget_all_configs,
    ]
    for i, step in enumerate(steps):
        step()
        d.save()
        again = Discovery(path, state_prefixes=prefixes)
        assert again._text() == d._text(), f"step {i}"
        if reload:
            d = again
    assert recorded_state(path.read_text()) == {A: {"m/" + A, "h/" + A}, C: {"m/" + C, "h/" + C}}
    assert json.loads(path.read_text())["clearing"] == ["ha/sensor/n/a/config"]


def test_a_record_that_could_not_be_written_is_written_at_the_next_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / ANNOUNCED_FILE
    d = Discovery(path, state_prefixes=("m/", "h/"))
    d.save()

    def full(_path: Path, _text: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ha_state, "write_atomically", full)
    d.note_default_state(frozenset({A}))
    d.save()
    assert recorded_state(path.read_text()) == {}
    monkeypatch.setattr(ha_state, "write_atomically", write_atomically)
    d.save()  # nothing changed since, but the file is behind
    assert recorded_state(path.read_text()) == {A: {"m/" + A, "h/" + A}}


def test_configs_read_from_the_file_are_taken_back_like_announced_ones(tmp_path: Path) -> None:
    path = tmp_path / ANNOUNCED_FILE
    a, b, c = (f"ha/sensor/n/{x}/config" for x in "abc")
    d = Discovery(path)
    d.update(A, ((a, b"{}"), (b, b"{}")))
    d.update(B, ((c, b"{}"),))
    again = Discovery(path)  # a restart: A announces one config fewer
    again.update(A, ((a, b"{}"),))
    assert again.clears_since(0) == [b]
    assert again.owners() == {A, B} and again.owners_but(frozenset({A})) == [B]
    assert Discovery(path).forget(B) == []  # B left the config: its config is cleared
    assert Discovery(path).clears_since(0) == [b, c] and Discovery(path).owners() == {A}
    off = Discovery(path)  # discovery turned off
    off.forget_all_configs()
    assert off.clears_since(0) == [a, b, c]
    assert json.loads(path.read_text())["configs"] == {}
    path.write_text(json.dumps({"version": 2, "configs": {A: [1]}, "state": {}}))
    assert Discovery(path).owners() == set()  # damaged: not a topic
