"""The radio supervisor's silence limit: a TimeoutError after `silence_reset_s` without a
frame, with one timer per period rather than one per frame."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gatewayd.radios.supervisor import SilenceWatch


class Frames:
    """An async iterator fed by the test."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[int] = asyncio.Queue()

    def __aiter__(self) -> AsyncIterator[int]:
        return self

    async def __anext__(self) -> int:
        return await self.queue.get()


async def test_no_frame_within_the_limit_is_a_timeout_and_the_task_is_not_left_cancelled() -> None:
    frames = Frames()
    watch = SilenceWatch(lambda: 0.1)
    with pytest.raises(TimeoutError):
        await watch.next(frames)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    frames.queue.put_nowait(7)  # the same watch goes on waiting normally
    assert await watch.next(frames) == 7
    watch.close()


async def test_frames_in_time_never_time_out_however_many() -> None:
    frames = Frames()
    watch = SilenceWatch(lambda: 0.5)
    got = []
    for i in range(40):  # 0.8 s in all, longer than the limit, each gap far shorter
        asyncio.get_running_loop().call_later(0.02, frames.queue.put_nowait, i)
        got.append(await watch.next(frames))
    assert got == list(range(40))
    watch.close()


async def test_each_wait_has_its_own_limit_however_long_the_consumer_took() -> None:
    frames = Frames()
    watch = SilenceWatch(lambda: 0.2)
    frames.queue.put_nowait(1)
    assert await watch.next(frames) == 1
    await asyncio.sleep(0.4)  # the consumer busy for longer than the limit
    asyncio.get_running_loop().call_later(0.05, frames.queue.put_nowait, 2)
    assert await watch.next(frames) == 2  # a new wait: not timed out at once
    watch.close()


async def test_a_cancel_from_outside_stays_a_cancel() -> None:
    frames = Frames()
    watch = SilenceWatch(lambda: 10.0)
    waiting = asyncio.create_task(watch.next(frames))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    watch.close()


async def test_no_limit_waits_as_long_as_it_takes_and_a_limit_set_later_applies() -> None:
    limit: list[float | None] = [None]
    frames = Frames()
    watch = SilenceWatch(lambda: limit[0])
    asyncio.get_running_loop().call_later(0.3, frames.queue.put_nowait, 1)
    assert await watch.next(frames) == 1
    limit[0] = 0.1
    with pytest.raises(TimeoutError):
        await watch.next(frames)
    watch.close()
