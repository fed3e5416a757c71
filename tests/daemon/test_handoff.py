"""Durable before anyone sees it: a sink gets a reading only once the outbox has it on disk."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from gatewayd.daemon.handoff import Handoff
from gatewayd.meters.model import from_dict
from gatewayd.meters.roles import Role
from gatewayd.sinks.base import Reading
from gatewayd.sinks.journal import JournalSink
from gatewayd.sinks.mqtt import MqttSettings, MqttSink
from tests.sinks.conftest import free_port
from tests.sinks.mqtt_readings import numbered, seq_of


def on_disk(path: Path) -> list[int]:
    """The readings a fresh connection (another process, after a crash) finds in the file."""
    db = sqlite3.connect(path)
    try:
        return [seq_of(p) for (p,) in db.execute("SELECT payload FROM outbox ORDER BY seq")]
    finally:
        db.close()


def litres(reading: Reading) -> int:
    total = reading.headline(Role.TOTAL_VOLUME)
    assert total is not None
    return round(total * 1000)


class Watcher:
    """A sink that, for every reading it is given, notes what the outbox file holds then."""

    name = "watcher"

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox
        self.seen: list[tuple[int, list[int]]] = []

    async def start(self) -> None: ...

    def publish(self, reading: Reading, *, alarm_changed: bool = False) -> None:
        self.seen.append((litres(reading), on_disk(self.outbox)))

    def raw(self, frame: bytes, rssi_dbm: float | None) -> None: ...

    def stats(self) -> dict[str, int]:
        return {}

    async def stop(self, timeout: float) -> None: ...


def mqtt(tmp_path: Path) -> MqttSink:
    # Nothing listens on the port: every row stays in the outbox, where the watcher sees it.
    return MqttSink(
        MqttSettings(gateway_id="gw", state_dir=tmp_path, host="127.0.0.1", port=free_port())
    )


async def test_every_sink_sees_a_reading_only_after_it_is_committed(tmp_path: Path) -> None:
    sink = mqtt(tmp_path)
    watcher = Watcher(sink.settings.outbox_path)
    handoff = Handoff([watcher, sink])
    assert handoff.durable is sink and handoff.others == [watcher]
    for i in range(5):
        handoff.publish(from_dict(numbered(i)), False)
        await handoff.drain(5.0)  # one at a time: each its own commit
    assert sink._outbox.commits == 5
    for i in range(5, 305):  # a burst within one loop turn
        handoff.publish(from_dict(numbered(i)), False)
    assert watcher.seen[-1][0] < 5  # nothing of the burst handed out before its commit
    await handoff.drain(5.0)
    assert [s for s, _ in watcher.seen] == list(range(305))  # all, in order
    for seq, stored in watcher.seen:
        assert seq in stored
    assert sink._outbox.commits - 5 <= 3  # 300 readings in a few commits (group commit)
    await sink.stop(0.1)


async def test_a_reading_is_logged_only_once_it_is_on_disk(tmp_path: Path) -> None:
    sink = mqtt(tmp_path)
    outbox = sink.settings.outbox_path
    logged: list[tuple[str, list[int]]] = []

    class AtEmit(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logged.append((record.getMessage(), on_disk(outbox)))

    logger = logging.getLogger("gatewayd.test.handoff.readings")
    logger.setLevel(logging.INFO)
    logger.addHandler(AtEmit())
    handoff = Handoff([JournalSink(logger), sink])
    for i in range(50):
        handoff.publish(from_dict(numbered(i)), False)
    assert logged == []  # accepted, not committed yet: no line
    await handoff.drain(5.0)
    assert len(logged) == 50
    for i, (message, stored) in enumerate(logged):
        assert message.startswith(f"meter {numbered(i)['id']}")
        assert i in stored
    await sink.stop(0.1)


async def test_without_a_durable_sink_readings_go_out_at_once(tmp_path: Path) -> None:
    got: list[Any] = []

    class Plain(Watcher):
        def publish(self, reading: Reading, *, alarm_changed: bool = False) -> None:
            got.append((litres(reading), alarm_changed))

    handoff = Handoff([Plain(tmp_path / "none")])
    handoff.publish(from_dict(numbered(1)), True)
    assert got == [(1, True)]


async def test_readings_accepted_before_a_stop_are_on_disk_after_it(tmp_path: Path) -> None:
    sink = mqtt(tmp_path)
    handoff = Handoff([sink])
    for i in range(50):
        handoff.publish(from_dict(numbered(i)), False)
    await handoff.drain(5.0)
    await sink.stop(0.1)
    assert on_disk(sink.settings.outbox_path) == list(range(50))
