"""The radio supervisor's silence limit: a TimeoutError after `silence_reset_s` without a
frame heard, with one timer per period rather than one per frame."""

from __future__ import annotations

import asyncio

import pytest

from gatewayd.radios.supervisor import SilenceWatch


async def _forever() -> None:
    await asyncio.Event().wait()


async def test_no_frame_within_the_limit_is_a_timeout_and_the_task_is_not_left_cancelled() -> None:
    watch = SilenceWatch(lambda: 0.1)
    with pytest.raises(TimeoutError):
        await watch.run(_forever())
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    assert await watch.run(asyncio.sleep(0.05, "done")) == "done"  # the same watch goes on
    watch.close()


async def test_frames_in_time_never_time_out_however_many() -> None:
    watch = SilenceWatch(lambda: 0.3)
    heard = 0

    async def radio() -> int:
        nonlocal heard
        for _ in range(40):  # 0.8 s in all, longer than the limit, each gap far shorter
            await asyncio.sleep(0.02)
            watch.heard()
            heard += 1
        return heard

    assert await watch.run(radio()) == 40
    watch.close()


async def test_the_limit_counts_from_the_last_frame_heard() -> None:
    loop = asyncio.get_running_loop()
    watch = SilenceWatch(lambda: 0.2)
    loop.call_later(0.15, watch.heard)
    t0 = loop.time()
    with pytest.raises(TimeoutError):
        await watch.run(_forever())
    assert loop.time() - t0 >= 0.35  # 0.15 s to the frame, then 0.2 s of silence


async def test_a_cancel_from_outside_stays_a_cancel() -> None:
    watch = SilenceWatch(lambda: 10.0)
    waiting = asyncio.create_task(watch.run(_forever()))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    watch.close()


async def test_no_limit_waits_as_long_as_it_takes_and_a_limit_set_later_applies() -> None:
    limit: list[float | None] = [None]
    watch = SilenceWatch(lambda: limit[0])
    assert await watch.run(asyncio.sleep(0.3, 1)) == 1
    waiting = asyncio.create_task(watch.run(_forever()))
    await asyncio.sleep(0.3)
    assert not waiting.done()  # no limit: still waiting
    limit[0] = 0.1
    watch.limit_changed()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(waiting, 5)
    watch.close()
