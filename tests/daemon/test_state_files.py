"""A damaged state file or outbox never stops the daemon: moved aside with one warning, a fresh
start; a state dir that cannot be written is a configuration error (exit 2), no traceback."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

import pytest

from gatewayd.daemon.state import METERS_FILE, StateDirError, StateStore
from gatewayd.meters.reading import MeterState
from gatewayd.wmbus.compact import CompactFormats
from tests.daemon.harness import DaemonProcess, write_config


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,  # RecursionError in the JSON parser
        "{not json",
        json.dumps({"version": 1, "meter_state": [1, 2], "policy": {}}),
        json.dumps({"version": 99}),
    ],
    ids=["deeply-nested", "not-json", "wrong-shape", "wrong-version"],
)
def test_a_damaged_state_file_is_moved_aside_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    (tmp_path / METERS_FILE).write_text(text)
    store = StateStore(tmp_path)
    with caplog.at_level(logging.WARNING):
        restored = store.load()
    assert restored.policy == {}
    assert not (tmp_path / METERS_FILE).exists()
    moved = list(tmp_path.glob(f"{METERS_FILE}.corrupt-*"))
    assert len(moved) == 1 and moved[0].read_text() == text
    warnings = _warnings(caplog)
    assert len(warnings) == 1 and "moved to " + moved[0].name in warnings[0]
    # and the next save writes a good file again
    assert store.save(CompactFormats(), MeterState(), {"x": 1})
    assert json.loads((tmp_path / METERS_FILE).read_text())["policy"] == {"x": 1}


def test_an_unwritable_state_dir_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StateDirError, match=r"state_dir: .* is not a writable directory"):
        StateStore(blocker / "state").ensure_dir()


async def test_run_with_an_unwritable_state_dir_exits_2_without_traceback(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, extra="")
    (tmp_path / "state").write_text("a file where the state dir should be")
    d = await DaemonProcess.start(cfg)
    try:
        async with asyncio.timeout(20):
            await d.proc.wait()  # exits by itself
        rc = await d.stop()
    finally:
        await d.kill()
    assert rc == 2
    assert "is not a writable directory" in d.log()
    assert "Traceback" not in d.log()


async def test_run_moves_a_damaged_outbox_aside_and_starts(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    outbox = state / "mqtt-outbox.sqlite3"
    outbox.write_bytes(os.urandom(4096))
    cfg = write_config(tmp_path, extra='\n[mqtt]\nhost = "127.0.0.1"\nport = 9\n')
    d = await DaemonProcess.start(cfg)
    try:
        await d.wait_log("is damaged")
        await d.wait_log("gatewayd starting")
        rc = await d.stop()
    finally:
        await d.kill()
    assert rc == 0
    assert d.log_count("is damaged") == 1
    assert len(list(state.glob("mqtt-outbox.sqlite3.corrupt-*"))) == 1
    assert "Traceback" not in d.log()


def test_learnt_intervals_are_kept_across_restarts(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    assert store.load().intervals == {}  # nothing saved yet
    assert store.save(CompactFormats(), MeterState(), {}, {"11223344": 16.0})
    assert StateStore(tmp_path).load().intervals == {"11223344": 16.0}
    assert store.save(CompactFormats(), MeterState(), {})  # a file without them loads too
    assert StateStore(tmp_path).load().intervals == {}
