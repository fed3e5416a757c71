"""A start that finds many meters gone from the config writes ha-announced.json a few times,
not once per removed meter (each write is a whole file, fsynced, before READY=1: 900 removed
meters took 1.3 s of CPU and 1,800 fsyncs). What is taken back is the same: every removed
meter's retained topics are cleared through the outbox, and only the configured ones stay on
record."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gatewayd.fsutil import write_atomically
from gatewayd.sinks.mqtt import MqttSettings, MqttSink, ha_state
from gatewayd.sinks.mqtt.ha_state import ANNOUNCED_FILE
from gatewayd.sinks.mqtt.payload import Topics
from gatewayd.sinks.outbox import Outbox
from tests.sinks.announced import recorded_state

METERS = [f"{0x10000000 + i:08x}" for i in range(300)]
KEPT = METERS[:3]


def test_removing_many_meters_writes_the_record_a_few_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = MqttSettings(gateway_id="site-17", state_dir=tmp_path, host="127.0.0.1", port=9)
    first = MqttSink(settings, meters=METERS)  # every meter's topics on record
    asyncio.run(first.stop(0.1))
    written: list[str] = []

    def counting(path: Path, text: str) -> None:
        written.append(text)
        write_atomically(path, text)  # the real write, counted

    monkeypatch.setattr(ha_state, "write_atomically", counting)
    sink = MqttSink(settings, meters=KEPT)
    asyncio.run(sink.stop(0.1))
    assert 1 <= len(written) <= 3
    assert sorted(recorded_state((tmp_path / ANNOUNCED_FILE).read_text())) == KEPT
    topics = Topics(settings.prefix, settings.gateway_id)
    box = Outbox(settings.outbox_path, settings.outbox_max)
    try:
        clears = {e.topic for e in box.after(0, 10_000) if e.payload == b"" and e.retain}
    finally:
        box.close()
    gone = {t for mid in METERS[3:] for t in (topics.meter(mid), topics.health(mid))}
    assert clears == gone


def test_a_start_that_changes_nothing_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record is written when what it says changes, not at every start: a restart with
    the same meters leaves the file as it was (no write, no fsync before READY=1)."""
    settings = MqttSettings(gateway_id="site-17", state_dir=tmp_path, host="127.0.0.1", port=9)
    first = MqttSink(settings, meters=KEPT)
    asyncio.run(first.stop(0.1))
    before = (tmp_path / ANNOUNCED_FILE).read_text()
    written: list[str] = []
    monkeypatch.setattr(ha_state, "write_atomically", lambda _p, text: written.append(text))
    again = MqttSink(settings, meters=KEPT)
    asyncio.run(again.stop(0.1))
    assert written == []
    assert (tmp_path / ANNOUNCED_FILE).read_text() == before
    changed = MqttSink(settings, meters=KEPT[:1])  # one meter fewer: written
    asyncio.run(changed.stop(0.1))
    assert len(written) >= 1
    assert sorted(recorded_state(written[-1])) == KEPT[:1]
