"""Closing a spawned pipeline leaves nothing of it running: real shells in their own group."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewayd.radios.textsource import TextSource

# A grandchild that ignores SIGTERM (as a radio program stuck in a USB call may), in the
# background of the shell; the shell prints its pid (= the process group, a new session).
STUBBORN = "(trap '' TERM; exec sleep 1000) & echo $$"


def _gone(pid: int) -> bool:
    """No such process, not even a zombie waiting to be reaped (kill(2) finds zombies)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _running_in_group(pgid: int) -> list[str]:
    """The group's processes that will go on running: not dead, and not killed. A killed one
    dies when the kernel next runs it (SIGKILL pending until then), then is a zombie until
    whoever it was reparented to (init) reaps it, which is not ours to wait for."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:  # gone meanwhile
            continue
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) != pgid or state in ("Z", "X"):
            continue
        pending = 0
        for line in status.splitlines():
            if line.startswith(("SigPnd:", "ShdPnd:")):
                pending |= int(line.split()[1], 16)
        if not pending & (1 << (signal.SIGKILL - 1)):
            out.append(f"{entry.name} {state} {stat.split(' ', 2)[1]}")
    return out


async def _assert_all_gone(pgid: int) -> None:
    assert _running_in_group(pgid) == [], "a process of the pipeline is still running"
    assert _gone(pgid), "the shell was not reaped"
    async with asyncio.timeout(10):  # and the orphans' zombies reaped by init, soon
        while not _group_gone(pgid):
            await asyncio.sleep(0.01)


async def _pgid(src: TextSource) -> int:
    line = b""
    async with asyncio.timeout(10):
        while not line.endswith(b"\n"):
            chunk = await src.read()
            assert chunk, "the pipeline ended before it said its pid"
            line += chunk
    return int(line)


@contextlib.asynccontextmanager
async def _pipeline(cmd: str) -> AsyncIterator[tuple[TextSource, int]]:
    src = TextSource(f"| {cmd}")
    await src.open()
    pgid = -1
    try:
        pgid = await _pgid(src)
        assert os.getpgid(pgid) == pgid  # its own group, as TextSource starts it
        yield src, pgid
    finally:
        if pgid > 0:  # whatever the test left (a failing one): not left running
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)


def _term_seen_fifo(tmp_path: Path) -> tuple[Path, int]:
    """A FIFO the shell's TERM trap writes to; opened read-write, so it never reads as ended
    and the shell's open never blocks."""
    fifo = tmp_path / "term"
    os.mkfifo(fifo)
    return fifo, os.open(fifo, os.O_RDWR | os.O_NONBLOCK)


async def _readable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        async with asyncio.timeout(10):
            await ready
    finally:
        loop.remove_reader(fd)


async def test_a_cancelled_close_still_kills_the_whole_group_and_reaps_the_shell(
    tmp_path: Path,
) -> None:
    """aclose() sends SIGTERM and waits; the pipeline ignores it, and the task closing the
    source is cancelled while it waits (a shutdown under a deadline). The cancellation goes
    on to the caller, and nothing of the pipeline is left: not the shell, not its child."""
    fifo, fd = _term_seen_fifo(tmp_path)
    cmd = f"trap 'echo term > {fifo}' TERM; {STUBBORN}; while :; do wait; done"
    try:
        async with _pipeline(cmd) as (src, pgid):
            closing = asyncio.create_task(src.aclose())
            await _readable(fd)  # the shell got SIGTERM: aclose() is waiting for it now
            assert os.read(fd, 100) == b"term\n"
            assert not closing.done() and not _gone(pgid)
            closing.cancel()
            with pytest.raises(asyncio.CancelledError):
                async with asyncio.timeout(10):
                    await closing
            await _assert_all_gone(pgid)
    finally:
        os.close(fd)


async def test_close_kills_what_ignored_sigterm_after_the_shell_exited() -> None:
    """The shell dies of SIGTERM at once; its child, ignoring it, must not live on orphaned."""
    async with _pipeline(f"{STUBBORN}; wait") as (src, pgid):
        async with asyncio.timeout(10):
            await src.aclose()
        await _assert_all_gone(pgid)
