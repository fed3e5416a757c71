"""A sink that prints each published reading as one JSON line (the demo, tests, shell pipes).

publish() only queues; a writer task writes in a worker thread, so a stalled reader on the other
end of the pipe never blocks the event loop. When the queue is full, the oldest line is dropped
and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections import deque
from typing import TYPE_CHECKING, TextIO

from gatewayd.tasks import cancel_and_wait

if TYPE_CHECKING:
    from gatewayd.sinks.base import Reading


class StdoutSink:
    name = "stdout"

    def __init__(self, stream: TextIO | None = None, *, max_queue: int = 10_000) -> None:
        self._stream = stream
        self._queue: deque[str] = deque()
        self._max = max_queue
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        self._counts = {"published": 0, "written": 0, "dropped": 0, "errors": 0}

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    async def start(self) -> None:
        self._task = asyncio.create_task(self._writer(), name="sink-stdout")

    def publish(self, reading: Reading, *, alarm_changed: bool = False) -> None:
        line = reading.json_bytes().decode()
        if len(self._queue) >= self._max:
            self._queue.popleft()
            self._counts["dropped"] += 1
        self._queue.append(line)
        self._counts["published"] += 1
        self._wake.set()

    def raw(self, frame: bytes, rssi_dbm: float | None) -> None:
        return None

    def stats(self) -> dict[str, int]:
        return dict(self._counts, queued=len(self._queue))

    async def stop(self, timeout: float) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._drain()
        await cancel_and_wait(task)
        self._counts["dropped"] += len(self._queue)
        self._queue.clear()

    async def _drain(self) -> None:
        while self._queue or self._busy:
            self._wake.set()
            await asyncio.sleep(0.01)

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), 256))]
                self._busy = True
                try:
                    await asyncio.to_thread(self._write, "".join(f"{x}\n" for x in batch))
                    self._counts["written"] += len(batch)
                except (OSError, ValueError):
                    self._counts["errors"] += 1
                    self._counts["dropped"] += len(batch)
                finally:
                    self._busy = False

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
