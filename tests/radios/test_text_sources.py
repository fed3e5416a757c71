"""rtl_wmbus through a real pipe and a FIFO, replay from a file and stdin-like pipes."""

from __future__ import annotations

import asyncio
import os
import pty
import sys
import time
import tty
from pathlib import Path

import pytest

from gatewayd.radios.base import LinkMode, RadioLost
from gatewayd.radios.registry import open_radio
from gatewayd.radios.supervisor import RadioState
from gatewayd.radios.textsource import CHUNK, TextSource
from tests.radios.helpers import Consumer, wait_until
from tests.radios.streams import DATA, K1, O1, rtl_line


async def test_rtlwmbus_from_a_spawned_pipeline_restarts_when_it_exits() -> None:
    recording = DATA / "rtlwmbus_k1.txt"
    sup = open_radio("rtlwmbus", f"| cat '{recording}'", "c1", backoff_initial_s=0.05)
    consumer = Consumer(sup)
    try:
        got = await consumer.take(6)  # 3 good lines per run, and the pipeline is run again
        await wait_until(lambda: sup.counters["reconnects"] >= 1)
    finally:
        await consumer.close()
    assert {(f.frame, f.link_mode, f.rssi_dbm) for f in got} == {(K1, LinkMode.C1, None)}
    assert "exited with status 0" in sup.reason or sup.state is not RadioState.STOPPED
    assert sup.counters["crc_failed"] >= 2 and sup.counters["l_renormalised"] >= 2


async def test_rtlwmbus_from_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "rtl.fifo"
    os.mkfifo(fifo)
    sup = open_radio("rtlwmbus", str(fifo), "c1", backoff_initial_s=0.05)
    consumer = Consumer(sup)
    try:
        await wait_until(lambda: sup.state is RadioState.RUNNING)
        line = f"T1;1;1;2020-01-23 10:25:13.000;97;148;76348799;0x{K1.hex()}\n"

        def write() -> None:
            with fifo.open("w") as f:
                f.write(line)

        await asyncio.to_thread(write)
        (f,) = await consumer.take(1)
    finally:
        await consumer.close()
    assert (f.frame, f.link_mode) == (K1, LinkMode.T1)


async def test_replay_file_at_a_rate_then_ends(tmp_path: Path) -> None:
    path = tmp_path / "telegrams.txt"
    path.write_text(f"# two telegrams\n{K1.hex()};-71\n\n{O1.hex()}\n")
    sup = open_radio("replay", str(path), "t1", rate=50)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    async with asyncio.timeout(10):
        got = [f async for f in sup.frames()]
    assert [(f.frame, f.rssi_dbm, f.link_mode) for f in got] == [
        (K1, -71.0, LinkMode.T1),
        (O1, None, LinkMode.T1),
    ]
    assert loop.time() - t0 >= 1 / 50  # the second frame waited its turn
    assert sup.state is RadioState.STOPPED


async def test_replay_repeat_loops() -> None:
    path = DATA / "replay_k1.txt"
    sup = open_radio("replay", str(path), rate=0, repeat=True)
    consumer = Consumer(sup)
    try:
        got = await consumer.take(5)
    finally:
        await consumer.close()
    assert [f.frame for f in got] == [K1] * 5


def _fake_tools(bin_dir: Path, recording: Path, *, lists_f: bool) -> None:
    """rtl_sdr that streams nothing, and an rtl_wmbus whose usage lists -f or not; the old one,
    like builds before 2023-08, prints its usage and exits when given -f."""
    bin_dir.mkdir(parents=True)
    (bin_dir / "rtl_sdr").write_text("#!/bin/sh\nexec cat /dev/null\n")
    usage = "Usage: rtl_wmbus [-s] [-r 0|1] [-t 0|1]" + (" [-f]" if lists_f else "")
    (bin_dir / "rtl_wmbus").write_text(
        "#!/bin/sh\n"
        f"echo '{usage}' >&2\n"
        f'[ "$1" = "-h" ] && exit 0\n'
        + ("" if lists_f else '[ "$1" = "-f" ] && exit 1\n')
        + f'echo "args:$*" >> "{bin_dir}/calls"\n'
        + f"cat '{recording}'\n"
    )
    for tool in ("rtl_sdr", "rtl_wmbus"):
        (bin_dir / tool).chmod(0o755)


async def _default_pipeline_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, lists_f: bool
) -> tuple[list[bytes], str]:
    bin_dir = tmp_path / "bin"
    _fake_tools(bin_dir, DATA / "rtlwmbus_k1.txt", lists_f=lists_f)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    consumer = Consumer(open_radio("rtlwmbus", "", "c1", backoff_initial_s=0.05))
    try:
        got = await consumer.take(3)
    finally:
        await consumer.close()
    return [f.frame for f in got], (bin_dir / "calls").read_text().splitlines()[0]


async def test_default_pipeline_adds_f_only_when_rtl_wmbus_lists_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames, call = await _default_pipeline_frames(tmp_path / "new", monkeypatch, lists_f=True)
    assert (frames, call) == ([K1] * 3, "args:-f")
    frames, call = await _default_pipeline_frames(tmp_path / "old", monkeypatch, lists_f=False)
    assert (frames, call) == ([K1] * 3, "args:")  # without -f the old build runs and is heard


async def test_default_pipeline_without_rtl_wmbus_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    sup = open_radio("rtlwmbus", "", "c1", fail_fast=True)
    with pytest.raises(RadioLost, match=r"cannot run rtl_wmbus: .*is rtl-wmbus installed"):
        await anext(sup.frames())


@pytest.mark.parametrize("kind", ["fifo", "command"])
async def test_a_pipe_is_read_in_chunks_not_in_256_kib_allocations(
    tmp_path: Path, kind: str
) -> None:
    """asyncio's pipe transport would allocate 256 KiB for every read of a ~150-byte line."""
    fifo = tmp_path / "rtl.fifo"
    os.mkfifo(fifo)
    src = TextSource(str(fifo) if kind == "fifo" else f"| cat '{fifo}'")
    line = f"T1;1;1;2020-01-23 10:25:13.000;97;148;76348799;0x{K1.hex()}\n".encode()

    def write() -> None:  # bounded: never blocks on a FIFO nobody reads
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                time.sleep(0.01)
                continue
            os.write(fd, line)
            os.close(fd)
            return

    async with src:
        assert src._pipe is not None
        assert src._pipe.transport.max_size == CHUNK  # type: ignore[union-attr]
        await asyncio.to_thread(write)
        got = b""
        while not got.endswith(b"\n"):  # and the line still arrives whole
            got += await asyncio.wait_for(src.read(), 10)
    assert got == line


async def test_a_read_error_on_the_stream_is_a_lost_radio_and_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """rtl_wmbus output on stdin, here a pty's master side: when the other side goes, reading
    fails with EIO. That is a lost radio, retried after the backoff, not an OSError out of
    run()."""
    master, slave = pty.openpty()
    tty.setraw(slave)

    class Stdin:  # what the daemon's stdin is: this pty
        def fileno(self) -> int:
            return master

    monkeypatch.setattr(sys, "stdin", Stdin())
    sup = open_radio("rtlwmbus", "-", "c1", backoff_initial_s=60)
    consumer = Consumer(sup)
    try:
        await wait_until(lambda: sup.state is RadioState.RUNNING)
        os.write(slave, rtl_line(K1))
        (f,) = await consumer.take(1)
        os.close(slave)  # the writer's side gone: the next read is EIO
        slave = -1
        await wait_until(lambda: sup.counters["radio_lost"] >= 1)
        reason, running = sup.reason, not consumer.task.done()
    finally:
        await consumer.close()
        os.close(master)
        if slave >= 0:
            os.close(slave)
    assert f.frame == K1
    assert running  # still supervised: nothing raised to the consumer
    assert "read failed" in reason and "Input/output error" in reason
