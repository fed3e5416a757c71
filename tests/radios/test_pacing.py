"""[radio] read_interval_ms: a radio read at most every interval hands its telegrams over in
batches, over the real paths (a simulated module on a pty, rtl_wmbus lines in a FIFO), and
loses or reorders none of them; with 0 each telegram is handed over as it comes."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import threading
import time
from pathlib import Path

import pytest

from gatewayd.demo.sim import AmberSimulator, ImstSimulator, PtySimulator
from gatewayd.radios.base import RadioFrame
from gatewayd.radios.pacing import ReadPacer
from gatewayd.radios.registry import open_radio
from gatewayd.radios.supervisor import RadioState, RadioSupervisor
from tests.radios.helpers import wait_state, wait_until
from tests.radios.streams import K1, K2, O1, rtl_line

SENT = [K1, K2, O1] * 10  # 30 telegrams, 10 ms apart
RATE = 100.0
INTERVAL_S = 0.1
GAP_S = 0.004  # deliveries closer than this came from one read


def batches(times: list[float]) -> int:
    """How many reads the deliveries came from: a new one after each gap of GAP_S or more."""
    return 1 + sum(1 for a, b in itertools.pairwise(times) if b - a >= GAP_S)


async def _run(sup: RadioSupervisor, start: object, n: int) -> tuple[list[bytes], list[float]]:
    got: list[bytes] = []
    at: list[float] = []

    def deliver(f: RadioFrame) -> None:
        got.append(f.frame)
        at.append(time.monotonic())

    task = asyncio.create_task(sup.run(deliver))
    try:
        await wait_state(sup, RadioState.RUNNING)
        assert callable(start)
        start()
        await wait_until(lambda: len(got) >= n)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return got, at


@pytest.mark.parametrize("sim_cls", [ImstSimulator, AmberSimulator], ids=["im871a", "amb8465"])
@pytest.mark.parametrize("interval_s", [INTERVAL_S, 0.0], ids=["paced", "unpaced"])
async def test_a_serial_module_is_read_in_batches(
    sim_cls: type[PtySimulator], interval_s: float
) -> None:
    async with sim_cls(rate=RATE) as sim:
        kind = "im871a" if sim_cls is ImstSimulator else "amb8465"
        sup = open_radio(kind, sim.device_path, "c1", read_interval_s=interval_s)
        got, at = await _run(sup, lambda: sim.send(*SENT), len(SENT))
    assert got == SENT  # all of them, in order
    span = len(SENT) / RATE
    if interval_s:
        assert batches(at) <= span / interval_s + 3
    else:
        assert batches(at) >= len(SENT) // 2  # the control: a read per telegram, about


@pytest.mark.parametrize("interval_s", [INTERVAL_S, 0.0], ids=["paced", "unpaced"])
async def test_rtl_wmbus_lines_in_a_fifo_are_read_in_batches(
    tmp_path: Path, interval_s: float
) -> None:
    fifo = tmp_path / "rtl.fifo"
    os.mkfifo(fifo)
    sup = open_radio("rtlwmbus", str(fifo), "c1", read_interval_s=interval_s)

    def write() -> None:
        with fifo.open("wb", buffering=0) as f:
            t0 = time.monotonic()
            for i, frame in enumerate(SENT):
                time.sleep(max(0.0, t0 + i / RATE - time.monotonic()))
                f.write(rtl_line(frame))
            time.sleep(0.5)  # keep the FIFO open until it was read: its end is a lost radio

    writer = threading.Thread(target=write, daemon=True)
    got, at = await _run(sup, writer.start, len(SENT))
    writer.join(timeout=5)
    assert got == SENT
    span = len(SENT) / RATE
    if interval_s:
        assert batches(at) <= span / interval_s + 3
    else:
        assert batches(at) >= len(SENT) // 2


class FakeTransport:
    """Just what the pacer touches: the pause state of a read transport."""

    def __init__(self) -> None:
        self.paused = False
        self.closing = False

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def is_closing(self) -> bool:
        return self.closing


async def test_reading_resumes_after_the_interval_only_while_still_wanted() -> None:
    wanted = True
    pacer = ReadPacer(0.05, still_wanted=lambda: wanted)
    t = FakeTransport()
    pacer.after_read(t)
    assert t.paused
    await asyncio.sleep(0.1)
    assert not t.paused  # resumed
    pacer.after_read(t)
    wanted = False  # the reader stopped meanwhile (radio lost, stream ended)
    await asyncio.sleep(0.1)
    assert t.paused
    t2 = FakeTransport()
    ReadPacer(0.0).after_read(t2)
    assert not t2.paused  # 0: never paused
    t3 = FakeTransport()
    t3.closing = True
    ReadPacer(0.05).after_read(t3)
    assert not t3.paused  # a closing transport is left alone
    t4 = FakeTransport()
    cancelled = ReadPacer(0.05)
    cancelled.after_read(t4)
    cancelled.cancel()
    await asyncio.sleep(0.1)
    assert t4.paused  # cancel(): the reader took the pausing over
