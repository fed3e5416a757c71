"""A frame that arrives as the silence reset fires is delivered before the radio is reopened.

The silence reset ends the supervisor's wait for the next frame; a frame the reader task queues
in that same loop iteration stayed in the old radio's queue, and the old radio was thrown away
with it. The race is made exact over the real serial path (the iM871A simulator on a pty): the
loop's clock is moved past the silence deadline in the iteration that hands the frame to the
radio's queue, so the timer and the frame meet in one loop iteration.
"""

from __future__ import annotations

import asyncio
from typing import cast

import pytest

from gatewayd.demo.sim import ImstSimulator
from gatewayd.radios.im871a import HciMessage, Im871aRadio
from gatewayd.radios.modes import ListenMode
from gatewayd.radios.supervisor import RadioState, RadioSupervisor, SupervisedRadio
from tests.radios.helpers import Consumer, wait_until
from tests.radios.streams import K1, K2

SILENCE_S = 30.0  # on the loop's clock; the test's own waits allow for the jump below
WAIT_S = SILENCE_S + 20.0


async def test_a_frame_meeting_the_silence_reset_reaches_the_consumer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    real_time = loop.time
    skew = [0.0]
    monkeypatch.setattr(loop, "time", lambda: real_time() + skew[0])
    armed = [False]

    class RacingRadio(Im871aRadio):
        def _dispatch(self, item: HciMessage) -> None:
            if armed[0] and self.to_frame(item) is not None:
                armed[0] = False
                skew[0] += SILENCE_S  # the silence timer is due in the next iteration...
                loop.call_soon(Im871aRadio._dispatch, self, item)  # ...as the frame is queued
                return
            super()._dispatch(item)

    async with ImstSimulator(rate=0) as sim:
        sup = RadioSupervisor(
            lambda: cast(SupervisedRadio, RacingRadio(sim.device_path, ListenMode.C1)),
            name="im871a",
            silence_reset_s=SILENCE_S,
            backoff_initial_s=0.05,
        )
        consumer = Consumer(sup)
        try:
            await wait_until(lambda: sup.state is RadioState.RUNNING, WAIT_S)
            armed[0] = True
            sim.send(K1)
            await wait_until(
                lambda: sup.counters["silence_resets"] == 1 and sim.config_count == 2, WAIT_S
            )
            await wait_until(lambda: sup.state is RadioState.RUNNING, WAIT_S)
            sim.send(K2)  # to the reopened radio: everything before it has been delivered
            got = []
            while K2 not in got:
                got += [f.frame for f in await consumer.take(1, WAIT_S)]
            counters = sup.counters
        finally:
            await consumer.close()
    assert armed == [False]  # the race did happen
    assert got == [K1, K2]
    assert counters["silence_resets"] == 1
    assert counters["frames"] == 2


async def test_frames_left_in_a_closed_radio_are_counted_as_dropped() -> None:
    async with ImstSimulator(rate=0) as sim:
        radio = Im871aRadio(sim.device_path, ListenMode.C1)
        async with radio:
            sim.send(K1, K2)
            await wait_until(lambda: radio._queue.qsize() == 2)
        assert radio.counters["frames_dropped_at_close"] == 2
