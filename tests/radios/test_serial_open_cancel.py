"""open_serial cancelled while the port is being opened: a real pty, no descriptor left open."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
import serial

from gatewayd.radios.serialport import open_serial

SLOW_OPEN_S = 0.5  # as a USB adapter that takes its time over the port's configuration


class SlowExecutor(ThreadPoolExecutor):
    """The loop's default executor, in which open_serial opens the port: each job runs for
    real, then its thread holds the result SLOW_OPEN_S longer (or until `release`), so a test
    can cancel the opening task while the port is open and not yet handed back."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(max_workers=1)
        self.ran = asyncio.Event()
        self.release = threading.Event()
        self.jobs: list[Future[Any]] = []
        self._loop = loop

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def slow() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                self._loop.call_soon_threadsafe(self.ran.set)
                self.release.wait(SLOW_OPEN_S)

        job = super().submit(slow)
        self.jobs.append(job)
        return job


def _fds_on(path: str) -> list[int]:
    out = []
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor, gone already
            if os.readlink(f"/proc/self/fd/{name}") == path:
                out.append(int(name))
    return out


@contextlib.contextmanager
def _pty() -> Iterator[str]:
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    os.close(slave)  # only the port opened by the code under test holds this side
    try:
        yield path
    finally:
        os.close(master)


def _cancel_as_the_result_comes_back(executor: SlowExecutor, task: asyncio.Task[Any]) -> None:
    """Release the thread and, blocking the loop meanwhile, queue task.cancel() right behind
    the callback that hands the opened port to the loop: both run in one loop iteration, so
    the task is cancelled after its result came, before it ran again to take it."""
    loop = task.get_loop()
    queued = threading.Event()

    def behind_the_result(_: Future[Any]) -> None:  # the thread's done callbacks run in order
        loop.call_soon_threadsafe(task.cancel)
        queued.set()

    job = executor.jobs.pop()  # not kept here: only the job holds the opened port
    job.add_done_callback(behind_the_result)
    del job
    executor.release.set()
    assert queued.wait(10)


@pytest.mark.parametrize("when", ["while_opening", "after_opened"])
async def test_a_cancelled_open_has_closed_the_port_when_it_returns(when: str) -> None:
    """while_opening: the task is cancelled while the thread has the port open and is still
    at it; the cancellation reaches the caller only once the port is closed again, so a radio
    restarted on the same device at once does not find it busy. after_opened: the thread has
    handed the port over and the task is cancelled before it ran again to take it."""
    loop = asyncio.get_running_loop()
    executor = SlowExecutor(loop)
    loop.set_default_executor(executor)
    with _pty() as path:
        assert _fds_on(path) == []
        task = asyncio.create_task(open_serial(path, 9600, lambda _: None, lambda _: None))
        try:
            async with asyncio.timeout(10):
                await executor.ran.wait()
            assert len(_fds_on(path)) == 1  # opened and configured: the case under test
            if when == "while_opening":
                executor.jobs.clear()  # not kept here: only the job holds the opened port
                task.cancel()
            else:
                _cancel_as_the_result_comes_back(executor, task)
            with pytest.raises(asyncio.CancelledError):
                async with asyncio.timeout(10):
                    await task
            left = _fds_on(path)
        finally:
            executor.release.set()
            for fd in _fds_on(path):  # a failing run: not left open for the next tests
                os.close(fd)
        assert left == [], "the cancelled open returned with the port still open"
        serial.Serial(path, exclusive=True).close()  # and it can be opened again at once
