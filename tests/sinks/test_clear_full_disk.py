"""A removed meter's clear that cannot be stored (disk full) is stored once space returns.

The clear is an empty retained message through the outbox, after the meter's last readings.
When the outbox cannot store it, it used to be gone for good: the sink had already forgotten
that the meter's reading was retained, so the broker kept it. Now it waits in memory (and on
record in ha-announced.json) and goes with the next readings stored. The state dir is a 4 MiB
tmpfs (root), filled to the last byte; the broker is a real mosquitto.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from gatewayd.daemon.handoff import Handoff
from gatewayd.meters.model import from_dict
from gatewayd.sinks.mqtt import MqttSink
from gatewayd.sinks.mqtt import sink as mqtt_sink
from gatewayd.sinks.mqtt.ha_state import Discovery
from tests.sinks.conftest import Broker, Subscriber
from tests.sinks.mqtt_readings import numbered
from tests.sinks.test_disk_full import fill, small_tmpfs
from tests.sinks.test_ha_cleanup import A, B, cleared, meter_topics, retained, run_sink, settings

READING_OF_B = f"metersync/site-17/meters/{B}"


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs (root)")
async def test_a_clear_that_meets_a_full_disk_is_stored_when_space_returns(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    with small_tmpfs(tmp_path / "state", "4m") as state:
        sink = MqttSink(settings(broker, tmp_path, state_dir=state), meters=[A, B])
        handoff = Handoff([sink], retry_s=0.2)
        try:
            await run_sink(sink, A, B)
            assert READING_OF_B in await retained(subscribe, broker.port, meter_topics(B))
            failures = sink.stats()["write_failures"]
            fill(state / "filler")
            sink.forget_meters([B])  # what a reload without B does
            assert sink.stats()["write_failures"] > failures  # the clear was not stored
            watch: Subscriber = subscribe(broker.port, READING_OF_B)

            (state / "filler").unlink()  # space is back: the next readings take it along
            handoff.publish(from_dict(numbered(7, A)), False)
            await handoff.drain(5.0)
            await watch.wait_for(cleared({READING_OF_B}))
            got = await retained(subscribe, broker.port, meter_topics(A))
        finally:
            await sink.stop(1.0)
    assert READING_OF_B not in got
    assert handoff.unstored == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs (root)")
async def test_a_clear_that_meets_a_full_disk_is_retried_on_its_own(
    broker: Broker, subscribe: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No reading comes after it (the last meter was removed, or the others are silent): it is
    tried again on a timer, fails while the disk is full, and is stored and sent once space
    returns."""
    monkeypatch.setattr(mqtt_sink, "CLEAR_RETRY_S", 0.2)
    with small_tmpfs(tmp_path / "state", "4m") as state:
        sink = MqttSink(settings(broker, tmp_path, state_dir=state), meters=[A, B])
        try:
            await run_sink(sink, A, B)
            assert READING_OF_B in await retained(subscribe, broker.port, meter_topics(B))
            failures = sink.stats()["write_failures"]
            fill(state / "filler")
            sink.forget_meters([B])
            watch: Subscriber = subscribe(broker.port, READING_OF_B)
            await asyncio.sleep(0.7)
            assert sink.stats()["write_failures"] >= failures + 3  # retried while full
            assert not cleared({READING_OF_B})(watch.snapshot())
            assert B in Discovery(state / "ha-announced.json").owners()  # still on record
            (state / "filler").unlink()
            await watch.wait_for(cleared({READING_OF_B}))
            got = await retained(subscribe, broker.port, meter_topics(A))
            assert B not in Discovery(state / "ha-announced.json").owners()  # off the record
            errors = sink.stats()["errors"]
        finally:
            await sink.stop(1.0)
    assert READING_OF_B not in got
    assert errors == 1  # the first failure; the retries count under write_failures


def test_a_clear_stays_on_record_until_it_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "ha-announced.json"
    d = Discovery(path)
    d.note_state(B, {READING_OF_B})
    assert d.forget(B) == [READING_OF_B]
    again = Discovery(path)  # a restart before the clear was stored
    assert again.owners() == {B}
    assert again.forget(B) == [READING_OF_B]  # so that start clears it
    again.state_stored(B, [READING_OF_B])
    assert Discovery(path).owners() == set()


def test_a_stale_topic_stays_on_record_until_its_clear_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "ha-announced.json"
    old, new = "metersync/old-gw/meters/1", "metersync/new-gw/meters/1"
    d = Discovery(path)
    d.note_state(A, {old})
    assert d.note_state(A, {new}) == [old]  # a renamed gateway: the old reading is cleared
    assert Discovery(path).note_state(A, {new}) == [old]  # not stored yet: again at a restart
    d.state_stored(A, [old])
    assert Discovery(path).note_state(A, {new}) == []
    assert Discovery(path).has_state(A)
