"""Durable before anyone sees it: a sink gets a reading only once the outbox has it on disk."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gatewayd.config.load import load_config
from gatewayd.config.schema import Config
from gatewayd.daemon.handoff import Handoff
from gatewayd.daemon.pipeline import Pipeline
from gatewayd.daemon.reload import needs_restart, reloaded
from gatewayd.daemon.stats import Stats
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


async def test_readings_arriving_one_by_one_within_the_window_share_one_commit(
    tmp_path: Path,
) -> None:
    sink = mqtt(tmp_path)
    outbox = sink.settings.outbox_path
    watcher = Watcher(outbox)
    handoff = Handoff([watcher, sink], window_s=1.0)
    before = sink._outbox.commits
    for i in range(5):  # as a radio delivers them: each in a loop turn of its own
        handoff.publish(from_dict(numbered(i)), False)
        await asyncio.sleep(0.01)
    # Held for the window: not on disk, so no sink has seen them (nothing accepted yet).
    assert on_disk(outbox) == [] and watcher.seen == []
    assert handoff.waiting == 5
    await handoff.drain(5.0)
    assert sink._outbox.commits - before == 1  # five readings, one transaction, one fsync
    assert watcher.seen == [(i, list(range(5))) for i in range(5)]  # in order, all on disk
    await sink.stop(0.1)


class GatedStore(Watcher):
    """The MQTT sink's outbox, with each commit held until the test opens the gate; notes
    what each commit carried."""

    name = "gated"

    def __init__(self, sink: MqttSink) -> None:
        super().__init__(sink.settings.outbox_path)
        self.sink = sink
        self.gate = asyncio.Event()
        self.batches: list[list[int]] = []
        self.committing = asyncio.Event()

    def stage(self, reading: Reading, *, alarm_changed: bool = False) -> Any:
        return (litres(reading), self.sink.stage(reading, alarm_changed=alarm_changed))

    async def store(self, staged: Sequence[Any]) -> None:
        self.committing.set()
        await self.gate.wait()
        await self.sink.store([messages for _n, messages in staged])
        self.batches.append([n for n, _messages in staged])


async def test_a_reading_arriving_during_a_commit_gets_a_window_of_its_own(
    tmp_path: Path,
) -> None:
    """It waits for the next commit, and that one waits the window from its arrival, so what
    arrives just after it shares the commit (rather than each going alone, back to back)."""
    store = GatedStore(mqtt(tmp_path))
    handoff = Handoff([store], window_s=0.3)
    assert handoff.durable is store
    handoff.publish(from_dict(numbered(0)), False)
    await store.committing.wait()  # the commit of 0 is running
    handoff.publish(from_dict(numbered(1)), False)
    store.gate.set()
    while not store.batches:
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.02)  # the commit of 0 is done; 1 waits for its window
    handoff.publish(from_dict(numbered(2)), False)
    await handoff.drain(5.0)
    assert store.batches == [[0], [1, 2]]
    assert on_disk(store.outbox) == [0, 1, 2]
    await store.sink.stop(0.1)


async def test_a_zero_window_commits_at_once(tmp_path: Path) -> None:
    sink = mqtt(tmp_path)
    watcher = Watcher(sink.settings.outbox_path)
    handoff = Handoff([watcher, sink], window_s=0.0)
    before = sink._outbox.commits
    for i in range(3):  # a burst within one loop turn still shares its commit
        handoff.publish(from_dict(numbered(i)), False)
    await handoff.drain(5.0)
    assert sink._outbox.commits - before == 1
    assert [s for s, _ in watcher.seen] == [0, 1, 2]
    await sink.stop(0.1)


def test_the_pipeline_commits_with_the_configured_window(tmp_path: Path) -> None:
    def config(text: str) -> Config:
        path = tmp_path / "config.toml"
        path.write_text(f'[gateway]\nstate_dir = "{tmp_path}"\n{text}')
        return load_config(path, credentials_dir=None)

    assert (
        Pipeline(config("[mqtt]\ncommit_window_ms = 50\n"), stats=Stats()).handoff.window_s == 0.05
    )
    # the default: what one read of the radio brought is one commit ([radio] read_interval_ms)
    assert Pipeline(config("[mqtt]\n"), stats=Stats()).handoff.window_s == 0.0
    assert Pipeline(config(""), stats=Stats()).handoff.window_s == 0.0
    # A reload does not change it (the outbox stays open): it says a restart is needed.
    running, loaded = config("[mqtt]\n"), config("[mqtt]\ncommit_window_ms = 100\n")
    assert needs_restart(running, loaded) == ["[mqtt]"]
    kept = reloaded(running, loaded).mqtt
    assert kept is not None and kept.commit_window_ms == 0
