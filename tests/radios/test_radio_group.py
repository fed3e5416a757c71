"""Several radios in one daemon: the [[radios]] config, and the group that merges their frames
(real ptys, two simulated receivers hearing the same telegram)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import pytest

from gatewayd.config.load import load_config
from gatewayd.config.reader import ConfigError
from gatewayd.config.schema import Config
from gatewayd.demo.sim import AmberSimulator, ImstSimulator
from gatewayd.radios.base import RadioFrame
from gatewayd.radios.group import RadioGroup
from gatewayd.radios.registry import open_radio
from gatewayd.radios.supervisor import RadioState
from tests.radios.helpers import wait_until
from tests.radios.streams import K1, K2, rtl_line


def _load(tmp_path: Path, text: str) -> Config:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[gateway]\nstate_dir = "{tmp_path}/state"\n' + text)
    return load_config(cfg, credentials_dir=None)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    return str(info.value)


def test_radios_tables(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        '[[radios]]\nname = "cellar"\nkind = "im871a"\ndevice = "/dev/ttyUSB0"\nc1_frame = "a"\n'
        '[[radios]]\nkind = "tcp"\ndevice = "0.0.0.0:4000"\nallow = ["10.0.0.0/24"]\n'
        '[[radios]]\nkind = "amb8465"\ndevice = "/dev/ttyUSB1"\nmode = "t1"\n',
    )
    radios = config.receivers
    assert [r.label for r in radios] == ["cellar", "tcp:0.0.0.0:4000", "amb8465:/dev/ttyUSB1"]
    assert radios[0].options() == {"c1_frame": "a"}
    assert radios[1].options() == {
        "allow": ("10.0.0.0/24",),
        "max_connections": 8,
        "max_line": 1024,
    }
    assert config.radio == radios[0]


def test_single_radio_table_stays_valid(tmp_path: Path) -> None:
    config = _load(tmp_path, '[radio]\nkind = "cul"\ndevice = "/dev/ttyACM0"\n')
    assert [r.label for r in config.receivers] == ["cul:/dev/ttyACM0"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[radio]\nkind = "cul"\n[[radios]]\nkind = "cul"\n',
            "radios: expected either one [radio]",
        ),
        (
            '[[radios]]\nkind = "cul"\ndevice = "/dev/a"\nname = "x"\n'
            '[[radios]]\nkind = "cul"\ndevice = "/dev/b"\nname = "x"\n',
            "radios[1].name: expected a name no other radio has",
        ),
        ('[radio]\nkind = "cul"\nc1_frame = "a"\n', "radio.c1_frame: expected one of"),
        ('[radio]\nkind = "im871a"\nc1_frame = "c"\n', "radio.c1_frame: expected one of 'a', 'b'"),
        ('[radio]\nkind = "tcp"\ndevice = "127.0.0.1:1"\nallow = [1]\n', "radio.allow"),
    ],
)
def test_radio_config_errors(tmp_path: Path, text: str, message: str) -> None:
    assert message in _error(tmp_path, text)


async def test_a_telegram_heard_twice_is_one_frame_with_the_best_rssi() -> None:
    # raw B4 -> -32.5 dBm on the iM871A; raw B4 -> -112 dBm on the Amber
    async with ImstSimulator(rate=0) as near, AmberSimulator(rate=0) as far:
        group = RadioGroup(
            [
                open_radio("im871a", near.device_path, label="near"),
                open_radio("amb8465", far.device_path, label="far"),
            ],
            merge_window_s=0.5,
        )
        got: asyncio.Queue[RadioFrame] = asyncio.Queue()

        async def consume() -> None:
            async for f in group.frames():
                got.put_nowait(f)

        task = asyncio.create_task(consume())
        try:
            await wait_until(lambda: near.mode == "c1" and far.mode == "c1")
            far.send(K1)
            near.send(K1)
            first = await asyncio.wait_for(got.get(), 10)
            near.send(K2)  # heard by one receiver only
            second = await asyncio.wait_for(got.get(), 10)
            assert group.state is RadioState.RUNNING
            await near.unplug()  # one receiver down: the group stays up
            await wait_until(lambda: group.supervisors[0].state is not RadioState.RUNNING)
            assert group.state is RadioState.RUNNING
            per_radio = group.per_radio()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert (first.frame, first.rssi_dbm, first.radio, sorted(first.heard_by)) == (
        K1,
        -32.5,
        "near",
        ["far", "near"],
    )
    assert (second.frame, second.heard_by) == (K2, ("near",))
    assert group.counters["merged_copies"] == 1
    assert per_radio["far"]["state"] == "running" and per_radio["near"]["state"] != "running"


async def test_one_radio_passes_frames_at_once() -> None:
    async with ImstSimulator([K1], rate=0) as sim:
        group = RadioGroup([open_radio("im871a", sim.device_path)])
        async with contextlib.aclosing(group.frames()) as frames:
            frame = await anext(frames)
    assert group.merge_window_s == 0 and frame.heard_by == ()


async def test_a_frame_in_its_merge_window_when_the_group_stops_is_delivered(
    tmp_path: Path,
) -> None:
    """Stopping the daemon cancels the group; a frame still waiting for copies was heard and
    goes on to the pipeline then, not with the group."""
    fifos = [tmp_path / "a.fifo", tmp_path / "b.fifo"]
    for fifo in fifos:
        os.mkfifo(fifo)
    group = RadioGroup(
        [open_radio("rtlwmbus", str(f), label=f.stem) for f in fifos], merge_window_s=60.0
    )
    got: list[RadioFrame] = []
    task = asyncio.create_task(group.run(got.append))
    writers: list[int] = []
    try:
        await wait_until(lambda: group.state is RadioState.RUNNING)
        await wait_until(lambda: all(s.state is RadioState.RUNNING for s in group.supervisors))
        for fifo in fifos:
            writers.append(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            os.write(writers[-1], rtl_line(K1))
        await wait_until(lambda: group.merged == 1)  # both heard it; the window is still open
        assert got == []
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for fd in writers:
            os.close(fd)
    assert [(f.frame, sorted(f.heard_by)) for f in got] == [(K1, ["a", "b"])]


async def test_merged_frames_are_delivered_by_the_window_timer_not_a_task(
    tmp_path: Path,
) -> None:
    fifos = [tmp_path / "a.fifo", tmp_path / "b.fifo"]
    for fifo in fifos:
        os.mkfifo(fifo)
    group = RadioGroup([open_radio("rtlwmbus", str(f), label=f.stem) for f in fifos])
    got: list[tuple[RadioFrame, object]] = []
    task = asyncio.create_task(group.run(lambda f: got.append((f, asyncio.current_task()))))
    writers: list[int] = []
    try:
        await wait_until(lambda: all(s.state is RadioState.RUNNING for s in group.supervisors))
        for fifo in fifos:
            writers.append(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        os.write(writers[0], rtl_line(K1) + rtl_line(K2))
        os.write(writers[1], rtl_line(K1))
        await wait_until(lambda: len(got) == 2)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for fd in writers:
            os.close(fd)
    assert [(f.frame, sorted(f.heard_by), t) for f, t in got] == [
        (K1, ["a", "b"], None),
        (K2, ["a"], None),
    ]
