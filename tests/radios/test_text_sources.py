"""rtl_wmbus through a real pipe and a FIFO, replay from a file and stdin-like pipes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from gatewayd.radios.base import LinkMode
from gatewayd.radios.registry import open_radio
from gatewayd.radios.supervisor import RadioState
from tests.radios.helpers import Consumer, wait_until
from tests.radios.streams import DATA, K1, O1


async def test_rtlwmbus_from_a_spawned_pipeline_restarts_when_it_exits() -> None:
    recording = DATA / "rtlwmbus_k1.txt"
    sup = open_radio("rtlwmbus", f"| cat '{recording}'", "c1", backoff_initial_s=0.05)
    consumer = Consumer(sup)
    try:
        got = await consumer.take(6)  # 3 good lines per run, and the pipeline is run again
        await wait_until(lambda: sup.counters["reconnects"] >= 1)
    finally:
        await consumer.close()
    assert {(f.frame, f.link_mode, f.rssi_dbm) for f in got} == {(K1, LinkMode.C1, None)}
    assert "exited with status 0" in sup.reason or sup.state is not RadioState.STOPPED
    assert sup.counters["crc_failed"] >= 2 and sup.counters["l_renormalised"] >= 2


async def test_rtlwmbus_from_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "rtl.fifo"
    os.mkfifo(fifo)
    sup = open_radio("rtlwmbus", str(fifo), "c1", backoff_initial_s=0.05)
    consumer = Consumer(sup)
    try:
        await wait_until(lambda: sup.state is RadioState.RUNNING)
        line = f"T1;1;1;2020-01-23 10:25:13.000;97;148;76348799;0x{K1.hex()}\n"

        def write() -> None:
            with fifo.open("w") as f:
                f.write(line)

        await asyncio.to_thread(write)
        (f,) = await consumer.take(1)
    finally:
        await consumer.close()
    assert (f.frame, f.link_mode) == (K1, LinkMode.T1)


async def test_replay_file_at_a_rate_then_ends(tmp_path: Path) -> None:
    path = tmp_path / "telegrams.txt"
    path.write_text(f"# two telegrams\n{K1.hex()};-71\n\n{O1.hex()}\n")
    sup = open_radio("replay", str(path), "t1", rate=50)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    async with asyncio.timeout(10):
        got = [f async for f in sup.frames()]
    assert [(f.frame, f.rssi_dbm, f.link_mode) for f in got] == [
        (K1, -71.0, LinkMode.T1),
        (O1, None, LinkMode.T1),
    ]
    assert loop.time() - t0 >= 1 / 50  # the second frame waited its turn
    assert sup.state is RadioState.STOPPED


async def test_replay_repeat_loops() -> None:
    path = DATA / "replay_k1.txt"
    sup = open_radio("replay", str(path), rate=0, repeat=True)
    consumer = Consumer(sup)
    try:
        got = await consumer.take(5)
    finally:
        await consumer.close()
    assert [f.frame for f in got] == [K1] * 5
