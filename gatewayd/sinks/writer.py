"""One worker thread that runs blocking jobs in order and answers on the event loop.

What `loop.run_in_executor` with a one-thread pool does, for the outbox's commits, at about
half the CPU a job (~28 against ~62 us here): no concurrent.futures Future chained to an asyncio
one, just a queue in and `call_soon_threadsafe` out. `submit()` answers with a plain callback,
which the loop runs in the turn that reads the answer (an awaited Future would take one more).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from _queue import SimpleQueue  # queue's own; the queue module is not needed for it
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

Done = Callable[[Any, BaseException | None], None]  # (result, error): exactly one is set
_Job = tuple[asyncio.AbstractEventLoop, Callable[[], Any], Done]


class Writer:
    def __init__(self, name: str) -> None:
        self._jobs: SimpleQueue[_Job | None] = SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(
        self, job: Callable[[], T], done: Callable[[T | None, BaseException | None], None]
    ) -> None:
        """job() in the thread, after those submitted before it; then done(result, None), or
        done(None, error) if it raised, on the loop that called this. Never raises."""
        self._jobs.put((asyncio.get_running_loop(), job, done))

    def run(self, job: Callable[[], T]) -> asyncio.Future[T]:
        """`await writer.run(job)`: job() in the thread, after those submitted before it. If
        the caller stops waiting (cancelled), the job still runs; its outcome is dropped."""
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.submit(job, functools.partial(settle, fut))
        return fut

    def close(self) -> None:
        """Wait for the jobs submitted so far, then end the thread."""
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (item := self._jobs.get()) is not None:
            loop, job, done = item
            try:
                result, error = job(), None
            except BaseException as exc:  # handed to the waiting task, whatever it is
                result, error = None, exc
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(done, result, error)


def settle(fut: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    """A submit() answer onto a Future, unless its waiter is gone (cancelled)."""
    if fut.done():  # the caller was cancelled meanwhile
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(result)
