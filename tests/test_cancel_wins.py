"""A bounded wait cancelled just as what it waits for finishes ends cancelled, not completed.

Python 3.11's asyncio.wait_for returns the inner result when a cancel and that result meet in
the same loop iteration, so the cancel is lost and the cancelled task carries on (a BLE stop
hung forever that way). The daemon bounds its waits with asyncio.timeout instead. The races
below are made exact by finishing the inner wait from the test and then cancelling after each
possible number of loop iterations; a scan keeps wait_for out of the package for good.
"""

from __future__ import annotations

import ast
import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from gatewayd.daemon.handoff import Handoff
from gatewayd.sinks.ble import agent
from tests.conftest import REPO
from tests.pysource import parse_file

SPINS = range(8)  # loop iterations between "finished" and the cancel: covers every window


async def _spin(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def _cancel_as_it_finishes(
    start: Callable[[], Awaitable[object]], finish: Callable[[], None], spins: int
) -> None:
    task = asyncio.ensure_future(start())
    await _spin(5)  # it is waiting now
    assert not task.done()
    finish()
    await _spin(spins)
    if task.cancel():  # accepted: the task was still running, so it must end cancelled
        with pytest.raises(asyncio.CancelledError):
            await task
    else:
        assert task.done() and not task.cancelled()


@pytest.mark.parametrize("spins", SPINS)
async def test_a_drain_cancelled_as_the_commit_ends_is_cancelled(spins: int) -> None:
    handoff = Handoff([])
    committed = asyncio.Event()

    async def commit() -> None:
        await committed.wait()

    handoff._drained = asyncio.create_task(commit())
    await _cancel_as_it_finishes(lambda: handoff.drain(5.0), committed.set, spins)


@pytest.mark.parametrize("spins", SPINS)
async def test_a_pairing_window_cancelled_as_sigterm_ends_it_is_cancelled(spins: int) -> None:
    loop = asyncio.get_running_loop()

    def sigterm() -> None:
        # _wait's handler must be in place, or this SIGTERM would end the test run itself
        assert signal.SIGTERM in getattr(loop, "_signal_handlers", {})
        os.kill(os.getpid(), signal.SIGTERM)

    await _cancel_as_it_finishes(lambda: agent._wait(30.0), sigterm, spins)
    assert signal.SIGTERM not in getattr(loop, "_signal_handlers", {})


def _wait_for_calls(path: Path, root: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(parse_file(path)):
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            if name == "wait_for":
                found.append(f"{path.relative_to(root)}:{node.lineno}")
        elif isinstance(node, ast.ImportFrom) and any(a.name == "wait_for" for a in node.names):
            found.append(f"{path.relative_to(root)}:{node.lineno} (import)")
    return found


def test_the_package_bounds_no_wait_with_wait_for() -> None:
    paths = sorted((REPO / "gatewayd").rglob("*.py"))
    found = [hit for path in paths for hit in _wait_for_calls(path, REPO)]
    assert found == [], "use `async with asyncio.timeout(...)`: wait_for can lose a cancel"


def test_the_scan_sees_wait_for(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import asyncio\nfrom asyncio import wait_for\n"
        "async def f(x):\n    await asyncio.wait_for(x, 1)\n    await wait_for(x, 1)\n"
    )
    assert sorted(_wait_for_calls(probe, tmp_path)) == [
        "probe.py:2 (import)",
        "probe.py:4",
        "probe.py:5",
    ]
