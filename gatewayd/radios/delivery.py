"""How a frame gets from the read that heard it to whoever runs the radio: in the same callback.

A radio is run as `await radio.run(deliver)`: every frame is handed to `deliver` as soon as it
is framed, synchronously, inside the loop callback that read its bytes (a transport's
data_received), so a frame costs no task switch, future or loop iteration on its way. run()
returns at the end of the input (replay, stdin, a file) and raises RadioLost when the radio is
lost; an exception `deliver` raises ends run() with that exception.

Reception is the part the port-reading radios share (serial modules, tcp): frames heard before
run() starts (while a module is configured) are held, bounded, and handed over first; frames
still held when the radio closes are counted (`frames_dropped_at_close`).

`frames_from(run)` turns a run() back into `async for frame in ...` for the consumers that want
one (gatewayd listen, benchmarks, tests): a bounded queue between, drops counted.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any

from gatewayd.radios.base import RadioFrame
from gatewayd.tasks import cancel_and_wait

FrameSink = Callable[[RadioFrame], object]  # what it returns is not looked at
HOLD_MAX = 1000  # frames held before run(), or queued for an `async for` consumer


class Reception:
    """Frames from the callbacks that frame them to run()'s `deliver`; what ends run()."""

    def __init__(self, counters: collections.Counter[str]) -> None:
        self.counters = counters
        self.deliver: FrameSink = self._hold  # the consumer's, while run() runs
        self._held: list[RadioFrame] = []
        self._end: BaseException | None = None  # what ended the reception (RadioLost, a bug)
        self._waiter: asyncio.Future[None] | None = None

    @property
    def ended(self) -> BaseException | None:
        return self._end

    def _hold(self, frame: RadioFrame) -> None:
        if len(self._held) >= HOLD_MAX:
            self.counters["frames_dropped_queue_full"] += 1
            return
        self._held.append(frame)

    def end(self, exc: BaseException) -> None:
        """End run() with `exc` (the first reason wins)."""
        if self._end is None:
            self._end = exc
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(None)

    async def run(self, deliver: FrameSink) -> None:
        """Hand the held frames to `deliver`, then every frame as it is heard, until end()."""
        held, self._held = self._held, []
        self.deliver = deliver
        try:
            for frame in held:
                deliver(frame)
            while self._end is None:
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter
        finally:
            self._waiter = None
            self.deliver = self._hold
        raise self._end

    def take_held(self) -> list[RadioFrame]:
        held, self._held = self._held, []
        return held

    def close(self) -> None:
        """The radio closes: what is still held was heard, and nobody will read it."""
        self.counters["frames_dropped_at_close"] += len(self._held)
        self._held = []


_END = object()


async def frames_from(
    run: Callable[[FrameSink], Coroutine[Any, Any, None]], counters: collections.Counter[str]
) -> AsyncGenerator[RadioFrame, None]:
    """`async for frame in frames_from(radio.run, counters)`: run() in a task, its frames
    queued (at most HOLD_MAX; more are dropped and counted) until the consumer takes them. Ends
    when run() returns, raises what it raises; frames left when the consumer stops are counted
    as dropped at close."""
    queue: asyncio.Queue[object] = asyncio.Queue()

    def push(frame: RadioFrame) -> None:
        if queue.qsize() >= HOLD_MAX:
            counters["frames_dropped_queue_full"] += 1
            return
        queue.put_nowait(frame)

    task = asyncio.create_task(run(push))
    task.add_done_callback(lambda _: queue.put_nowait(_END))
    try:
        while (item := await queue.get()) is not _END:
            assert isinstance(item, RadioFrame)
            yield item
        task.result()  # raises what run() raised
    finally:
        if not task.done():
            with contextlib.suppress(Exception):  # the consumer stopped: not its concern now
                await cancel_and_wait(task)
        counters["frames_dropped_at_close"] += sum(
            isinstance(queue.get_nowait(), RadioFrame) for _ in range(queue.qsize())
        )
