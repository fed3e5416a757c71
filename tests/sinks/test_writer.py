"""The outbox's writing thread: jobs in order, off the loop, answers (and errors) on it."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from gatewayd.sinks.writer import Writer


async def test_jobs_run_in_order_in_one_thread_off_the_loop() -> None:
    writer = Writer("test-writer")
    done: list[int] = []

    def job(i: int) -> tuple[int, str]:
        time.sleep(0.01 if i == 0 else 0)  # the first is slow: the others still wait for it
        done.append(i)
        return i, threading.current_thread().name

    futures = [writer.run(lambda i=i: job(i)) for i in range(5)]  # type: ignore[misc]
    results = await asyncio.gather(*futures)
    writer.close()
    assert done == list(range(5))
    assert results == [(i, "test-writer") for i in range(5)]


async def test_an_error_reaches_the_caller_and_the_thread_goes_on() -> None:
    writer = Writer("test-writer")

    def fails() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        await writer.run(fails)
    assert await writer.run(lambda: 42) == 42
    writer.close()


async def test_a_cancelled_caller_leaves_the_job_running_and_nothing_to_report() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    writer = Writer("test-writer")
    started, ran = threading.Event(), threading.Event()

    def slow() -> int:
        started.set()
        time.sleep(0.1)
        ran.set()
        return 1

    waiting = asyncio.ensure_future(writer.run(slow))
    await asyncio.to_thread(started.wait, 5)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await writer.run(lambda: 2) == 2  # after the cancelled one, which did run
    assert ran.is_set()
    writer.close()
    await asyncio.sleep(0.01)
    assert reported == []  # no "result set on a cancelled future" from the thread


def test_a_job_ending_after_its_loop_closed_does_not_stop_the_thread() -> None:
    writer = Writer("test-writer")
    ran = threading.Event()

    def slow() -> None:
        time.sleep(0.1)
        ran.set()

    async def submit_and_leave() -> None:
        writer.run(slow)  # never awaited: the loop closes first

    asyncio.run(submit_and_leave())
    assert ran.wait(5)
    writer.close()  # the thread still takes its end and exits
    assert not writer._thread.is_alive()
