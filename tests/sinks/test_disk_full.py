"""A full disk: what is stored keeps flowing, nothing is resent in a loop, and it recovers.

The state dir is a 4 MiB tmpfs (root). Readings go through the daemon's hand-off to a real
MqttSink and mosquitto. With the broker down, readings are stored; then the disk is filled to
the last byte, more readings arrive (they cannot be stored, so they wait in memory and reach no
sink), and the broker comes back: the stored ones are delivered once each although their
DELETEs fail, the connection stays up, and once space returns the waiting ones follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatewayd.daemon.handoff import Handoff
from gatewayd.meters.model import from_dict
from gatewayd.sinks.mqtt import MqttSettings, MqttSink
from tests.sinks.conftest import Broker, Subscriber
from tests.sinks.mqtt_readings import numbered, seq_of

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs (root)")

GW = "full-gw"


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def rows_in(state: Path) -> int:
    db = sqlite3.connect(f"file:{state / 'mqtt-outbox.sqlite3'}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    finally:
        db.close()


def fill(path: Path) -> None:
    """Write until the file system says ENOSPC."""
    with path.open("wb", buffering=0) as f:
        chunk = b"\0" * 4096
        try:
            while True:
                f.write(chunk)
        except OSError as e:
            assert e.errno == errno.ENOSPC
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0")


async def test_full_disk_keeps_delivering_never_loops_and_recovers(
    broker_factory: Any, subscribe: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    broker: Broker = broker_factory()
    sub: Subscriber = subscribe(broker.port, f"metersync/{GW}/meters/#")
    with small_tmpfs(tmp_path / "state", "4m") as state:
        sink = MqttSink(
            MqttSettings(
                gateway_id=GW,
                state_dir=state,
                host="127.0.0.1",
                port=broker.port,
                reconnect_min_s=0.05,
                reconnect_max_s=0.2,
            )
        )
        handoff = Handoff([sink], retry_s=0.2)
        await sink.start()
        try:
            broker.stop()
            for i in range(100):
                handoff.publish(from_dict(numbered(i)), False)
            await handoff.drain(5.0)
            assert sink.stats()["queued"] == 100
            fill(state / "filler")
            for i in range(100, 150):  # cannot be stored: they wait, in order
                handoff.publish(from_dict(numbered(i)), False)
            await asyncio.sleep(0.5)
            assert handoff.waiting == 50

            broker.start()
            await sub.wait_for(lambda ms: len(ms) >= 100, timeout=20)
            connects = sink.stats()["connects"]
            await asyncio.sleep(2.0)  # DELETEs fail meanwhile: no teardown, no resend loop
            assert sink.stats()["connects"] == connects
            assert sink.stats()["write_failures"] >= 1
            assert len(sub.snapshot()) == 100
            assert sink.stats()["queued"] == 0  # all acknowledged ...
            assert rows_in(state) == 100  # ... though no DELETE could be written

            (state / "filler").unlink()  # space is back
            msgs = await sub.wait_for(lambda ms: len(ms) >= 150, timeout=20)
            await handoff.drain(5.0)
            assert handoff.waiting == 0 and handoff.unstored == 0
        finally:
            await sink.stop(2.0)
    counts = Counter(seq_of(m.payload) for m in msgs)
    assert sorted(counts) == list(range(150))  # all of them, in order below
    assert set(counts.values()) == {1}  # and each once
    assert [seq_of(m.payload) for m in msgs] == list(range(150))
    assert sink.stats()["low_space"] == 1  # a 4 MiB state dir is below the threshold at once
    warnings = [r for r in caplog.records if "MiB free" in r.getMessage()]
    assert len([w for w in warnings if w.levelno == logging.WARNING]) == 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert 1 <= len(errors) <= 2  # the outbox's "cannot write" and the hand-off's, once each
