"""The daemon's radio loop in process: frames handed to the pipeline as they are read, a bug
in it drained and reported, and the radio counters in the stats and STATUS=."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from gatewayd.config.load import load_config
from gatewayd.daemon.app import Daemon
from gatewayd.daemon.notify import Notifier
from gatewayd.daemon.pipeline import Pipeline
from gatewayd.meters.model import Reading
from gatewayd.radios.base import RadioFrame
from gatewayd.radios.group import RadioGroup
from gatewayd.radios.registry import open_radio
from tests.daemon.harness import KEY, METER, mc21
from tests.radios.streams import K1


class Recorder:
    """A sink that keeps what it is given, and whether it was stopped."""

    name = "recorder"

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.stopped = False

    async def start(self) -> None:
        pass

    def publish(self, reading: Reading, *, alarm_changed: bool = False) -> None:
        self.readings.append(reading)

    def raw(self, frame: bytes, rssi_dbm: float | None) -> None:
        pass

    def stats(self) -> dict[str, int]:
        return {"readings": len(self.readings)}

    async def stop(self, timeout: float) -> None:
        self.stopped = True


def _config(tmp_path: Path, frames: Sequence[bytes]) -> Path:
    telegrams = tmp_path / "telegrams.txt"
    telegrams.write_text("".join(f"{f.hex()}\n" for f in frames))
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f"""
[gateway]
id = "test-gw"
state_dir = "{tmp_path / "state"}"

[radio]
kind = "replay"
device = "{telegrams}"

[[meters]]
id = "{METER}"
key = "{KEY.hex().upper()}"

[log]
journal = "no"
"""
    )
    return cfg


async def test_a_bug_in_the_radio_loop_drains_and_exits_1_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    frames = [mc21(acc, 1000 + acc) for acc in range(1, 4)]
    handle = Pipeline.handle
    handled: list[RadioFrame] = []

    def failing(self: Pipeline, rf: RadioFrame) -> Reading | None:
        if len(handled) == 2:
            raise RuntimeError("a bug on the third frame")
        handled.append(rf)
        return handle(self, rf)

    monkeypatch.setattr(Pipeline, "handle", failing)
    recorder = Recorder()
    config = load_config(_config(tmp_path, frames), credentials_dir=None)
    daemon = Daemon(config, notifier=Notifier({}), extra_sinks=[recorder], journal_sink=False)
    with caplog.at_level(logging.INFO):
        async with asyncio.timeout(20):
            rc = await daemon.run()
    assert rc == 1
    assert len(recorder.readings) == 2 and recorder.stopped  # drained, then stopped
    failed = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failed) == 1, [r.getMessage() for r in failed]
    message = failed[0].getMessage()
    assert "radio loop failed: RuntimeError: a bug on the third frame" in message
    assert "test_radio_loop.py" in message  # where it was raised
    assert any("gatewayd stopped" in r.getMessage() for r in caplog.records)


async def test_frames_reach_the_pipeline_in_the_read_callback_not_in_a_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rtl_wmbus on a FIFO, as the daemon runs it: each frame's Pipeline.handle runs inside the
    pipe transport's read callback (no task is running), so a frame costs no task switch."""
    fifo = tmp_path / "rtl.fifo"
    os.mkfifo(fifo)
    handle = Pipeline.handle
    tasks: list[Any] = []

    def recording(self: Pipeline, rf: RadioFrame) -> Reading | None:
        tasks.append(asyncio.current_task())
        return handle(self, rf)

    monkeypatch.setattr(Pipeline, "handle", recording)
    cfg = _config(tmp_path, [])
    cfg.write_text(
        cfg.read_text()
        .replace('kind = "replay"', 'kind = "rtlwmbus"')
        .replace(f'device = "{tmp_path / "telegrams.txt"}"', f'device = "{fifo}"')
    )
    daemon = Daemon(
        load_config(cfg, credentials_dir=None), notifier=Notifier({}), journal_sink=False
    )
    running = asyncio.create_task(daemon.run())
    writer = -1
    try:
        async with asyncio.timeout(20):
            await daemon.radio_up.wait()
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            for acc in (1, 2):
                line = f"C1;1;1;2020-01-23 10:25:13.000;97;148;{METER};0x{mc21(acc, 1000).hex()}\n"
                os.write(writer, line.encode())
                while len(tasks) < acc:
                    await asyncio.sleep(0.01)
    finally:
        daemon.stop()
        await running
        if writer >= 0:
            os.close(writer)
    assert tasks == [None, None]
    assert daemon.stats.counts["decoded"] == 2


async def test_frames_dropped_at_close_are_in_the_stats_and_status(tmp_path: Path) -> None:
    telegrams = tmp_path / "telegrams.txt"
    telegrams.write_text(f"{K1.hex()}\n" * 5)
    sup = open_radio("replay", str(telegrams), rate=0)
    frames = sup.frames()
    await anext(frames)  # one taken; the replay goes on queueing the rest for this consumer
    for _ in range(20):
        await asyncio.sleep(0)
    await frames.aclose()  # and nobody reads them: dropped at close, counted
    dropped = sup.counters["frames_dropped_at_close"]
    assert dropped == 4
    config = load_config(_config(tmp_path, []), credentials_dir=None)
    daemon = Daemon(config, notifier=Notifier({}), journal_sink=False)
    daemon._supervisor = RadioGroup([sup])
    assert daemon.stats_snapshot()["frames_dropped_at_close"] == 4
    assert daemon._status_text().endswith(", 4 dropped at radio close")
