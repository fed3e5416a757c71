"""A frame that is in the port when the silence reset fires is delivered before the radio is
reopened.

The silence timer and a frame can meet: the frame's bytes are in the port (the serial device or
the rtl_wmbus pipe) but the loop has not read them yet when the timer's callback runs. The
reset must read what the port holds before it closes the radio, or those frames go with it.
The race is made exact over the real paths (the iM871A simulator on a pty; a FIFO): the radio's
transport stops reading, as if the loop had not got to it yet, the frame is written, and the
silence reset fires with the frame's bytes waiting in the kernel.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import cast

from gatewayd.demo.sim import ImstSimulator
from gatewayd.radios.im871a import Im871aRadio
from gatewayd.radios.modes import ListenMode
from gatewayd.radios.registry import open_radio
from gatewayd.radios.rtlwmbus import RtlWmbusRadio
from gatewayd.radios.supervisor import RadioState, RadioSupervisor, SupervisedRadio
from tests.radios.helpers import Consumer, wait_until
from tests.radios.streams import K1, K2, rtl_line

SILENCE_S = 0.5


async def test_a_frame_in_the_serial_port_as_the_silence_reset_fires_is_delivered() -> None:
    async with ImstSimulator(rate=0) as sim:
        sup = RadioSupervisor(
            lambda: cast(SupervisedRadio, Im871aRadio(sim.device_path, ListenMode.C1)),
            name="im871a",
            silence_reset_s=SILENCE_S,
            backoff_initial_s=0.05,
        )
        consumer = Consumer(sup)
        try:
            await wait_until(lambda: sup.state is RadioState.RUNNING)
            radio = cast(Im871aRadio, sup._current)
            assert radio._port is not None
            radio._port.stop_reading()  # the loop has not got to the port yet
            sim.send(K1)
            await wait_until(lambda: sup.counters["silence_resets"] == 1 and sim.config_count == 2)
            await wait_until(lambda: sup.state is RadioState.RUNNING)
            sup.silence_reset_s = 60.0
            sim.send(K2)  # to the reopened radio: everything before it has been delivered
            got = [f.frame for f in await consumer.take(2)]
            counters = sup.counters
        finally:
            await consumer.close()
    assert got == [K1, K2]
    assert counters["silence_resets"] == 1
    assert counters["frames"] == 2


async def test_rtl_wmbus_output_in_the_pipe_as_the_silence_reset_fires_is_delivered(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "rtl.fifo"
    os.mkfifo(fifo)
    # a spawned pipeline: its pipe to us goes when the radio closes, and what is in it with it
    sup = open_radio("rtlwmbus", f"| cat '{fifo}'", "c1", silence_reset_s=SILENCE_S)
    sup.backoff_initial_s = 0.05
    consumer = Consumer(sup)
    writer = -1
    try:
        await wait_until(lambda: sup.state is RadioState.RUNNING)
        writer = await _open_writer(fifo)  # held open: cat sees no end of input
        radio = cast(RtlWmbusRadio, sup._current)
        assert radio._source._pipe is not None
        radio._source._pipe.pause()  # the loop has not got to the pipe yet
        os.write(writer, rtl_line(K1) + rtl_line(K2))
        got = [f.frame for f in await consumer.take(2)]
        counters = sup.counters
        # the old pipeline stopped and a new one running before the consumer goes
        await wait_until(lambda: sup.state is RadioState.RUNNING and sup._current is not radio)
    finally:
        await consumer.close()
        if writer >= 0:
            os.close(writer)
    assert got == [K1, K2]
    assert counters["silence_resets"] == 1


async def _open_writer(fifo: Path) -> int:
    async with asyncio.timeout(10):
        while True:
            try:
                return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: cat has not opened it yet
                await asyncio.sleep(0.01)


async def test_frames_left_in_a_closed_radio_are_counted_as_dropped() -> None:
    async with ImstSimulator(rate=0) as sim:
        radio = Im871aRadio(sim.device_path, ListenMode.C1)
        async with radio:  # configured, and nobody runs it: what it hears is held
            sim.send(K1, K2)
            await wait_until(lambda: len(radio._rx._held) == 2)
        assert radio.counters["frames_dropped_at_close"] == 2
