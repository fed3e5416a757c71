"""Async helpers for the pty tests: a frame consumer and state waits, all bounded in time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from gatewayd.radios.base import RadioFrame
from gatewayd.radios.supervisor import RadioState, RadioSupervisor


class Consumer:
    """Drives supervisor.frames() in a task (the supervisor only works while iterated)."""

    def __init__(self, sup: RadioSupervisor) -> None:
        self.sup = sup
        self.queue: asyncio.Queue[RadioFrame | BaseException] = asyncio.Queue()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            async for f in self.sup.frames():
                self.queue.put_nowait(f)
        except Exception as exc:
            self.queue.put_nowait(exc)

    async def take(self, n: int, timeout: float = 10.0) -> list[RadioFrame]:
        out = []
        async with asyncio.timeout(timeout):
            for _ in range(n):
                item = await self.queue.get()
                if isinstance(item, BaseException):
                    raise item
                out.append(item)
        return out

    def discard_waiting(self) -> int:
        """Drop the frames delivered but not taken yet (e.g. heard before an unplug)."""
        n = 0
        while not self.queue.empty():
            item = self.queue.get_nowait()
            if isinstance(item, BaseException):
                raise item
            n += 1
        return n

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def wait_until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


async def wait_state(sup: RadioSupervisor, state: RadioState, timeout: float = 10.0) -> None:
    await wait_until(lambda: sup.state is state, timeout)
