"""Ending a helper task never swallows a cancel aimed at the task that ends it.

`task.cancel(); with suppress(CancelledError): await task` cannot tell the helper's cancel
from one aimed at the waiter: when the waiter is cancelled while the helper finishes its
clean-up (or in the same loop iteration as it ends), the waiter carries on. The race is made
exact as in test_cancel_wins.py: the helper's clean-up waits for an event the test sets, and
the waiter is cancelled after each possible number of loop iterations. A scan keeps the raw
pattern out of the package.
"""

from __future__ import annotations

import ast
import asyncio
import collections
import contextlib
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from gatewayd.radios.base import LinkMode, RadioFrame
from gatewayd.radios.delivery import FrameSink, frames_from
from gatewayd.tasks import cancel_and_wait
from gatewayd.wmbus.link import FrameFormat
from tests.conftest import REPO
from tests.pysource import parse_file
from tests.test_cancel_wins import SPINS, _cancel_as_it_finishes


def _slow_to_end(cleaned_up: asyncio.Event) -> asyncio.Task[None]:
    """A task that, once cancelled, finishes its clean-up only when `cleaned_up` is set."""

    async def run() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await cleaned_up.wait()

    return asyncio.create_task(run())


async def _swallowing(task: asyncio.Task[None]) -> None:
    """The pattern the package no longer uses, to show the race below is a real one."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _then_carry_on(wait: Callable[[], Awaitable[None]]) -> str:
    await wait()
    await asyncio.sleep(0)
    return "carried on"


@pytest.mark.parametrize("spins", SPINS)
async def test_a_waiter_cancelled_as_the_helper_ends_is_cancelled(spins: int) -> None:
    cleaned_up = asyncio.Event()
    helper = _slow_to_end(cleaned_up)
    await _cancel_as_it_finishes(
        lambda: _then_carry_on(lambda: cancel_and_wait(helper)), cleaned_up.set, spins
    )
    assert helper.cancelled()


async def test_the_swallowing_pattern_loses_that_cancel() -> None:
    """Without the helper, some spin count ends with the cancelled waiter carrying on."""
    lost = []
    for spins in SPINS:
        cleaned_up = asyncio.Event()
        helper = _slow_to_end(cleaned_up)
        waiter = asyncio.create_task(_then_carry_on(functools.partial(_swallowing, helper)))
        for _ in range(5):
            await asyncio.sleep(0)
        cleaned_up.set()
        for _ in range(spins):
            await asyncio.sleep(0)
        if waiter.cancel():
            with contextlib.suppress(asyncio.CancelledError):
                if await waiter == "carried on":
                    lost.append(spins)
    assert lost != []


@pytest.mark.parametrize("spins", SPINS)
async def test_radio_frames_closed_by_a_cancelled_task_leave_it_cancelled(spins: int) -> None:
    cleaned_up = asyncio.Event()
    frame = RadioFrame(bytes(12), None, LinkMode.C1, FrameFormat.CLEAN, 0.0)

    async def run(deliver: FrameSink) -> None:  # a radio whose run() ends as a port close does
        deliver(frame)
        try:
            await asyncio.Event().wait()
        finally:
            await cleaned_up.wait()

    frames = frames_from(run, collections.Counter())
    assert await anext(frames) == frame  # run() is going in its task
    await _cancel_as_it_finishes(lambda: _then_carry_on(frames.aclose), cleaned_up.set, spins)


async def test_what_a_task_raised_comes_out_after_all_have_ended() -> None:
    async def fails() -> None:
        raise ValueError("from the helper")

    failing = asyncio.create_task(fails())
    await asyncio.sleep(0)
    cleaned_up = asyncio.Event()
    cleaned_up.set()
    slow = _slow_to_end(cleaned_up)
    await asyncio.sleep(0)
    with pytest.raises(ValueError, match="from the helper"):
        await cancel_and_wait(failing, slow)
    assert slow.cancelled()


async def test_no_tasks_is_nothing_to_wait_for() -> None:
    await cancel_and_wait()


def _swallowed_cancels(path: Path, root: Path) -> list[str]:
    """Every `suppress(...)` that names CancelledError, in `with` statements."""
    found: list[str] = []
    for node in ast.walk(parse_file(path)):
        if not isinstance(node, (ast.With, ast.AsyncWith)):
            continue
        for item in node.items:
            call = item.context_expr
            if not isinstance(call, ast.Call):
                continue
            fn = call.func
            if (fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")) != "suppress":
                continue
            names = [
                a.attr if isinstance(a, ast.Attribute) else getattr(a, "id", "") for a in call.args
            ]
            if "CancelledError" in names:
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_the_package_swallows_no_cancel_with_suppress() -> None:
    paths = sorted((REPO / "gatewayd").rglob("*.py"))
    found = [hit for path in paths for hit in _swallowed_cancels(path, REPO)]
    assert found == [], "use gatewayd.tasks.cancel_and_wait: suppress(CancelledError) loses cancels"


def test_the_scan_sees_suppressed_cancels(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import asyncio, contextlib\nfrom asyncio import CancelledError\n"
        "from contextlib import suppress\nasync def f(t):\n"
        "    with contextlib.suppress(asyncio.CancelledError):\n        await t\n"
        "    with suppress(OSError, CancelledError):\n        await t\n"
        "    with suppress(OSError):\n        await t\n"
    )
    assert _swallowed_cancels(probe, tmp_path) == ["probe.py:5", "probe.py:7"]
