"""Byte streams that are not serial ports: stdin, a file or FIFO, or a spawned pipeline.

device forms: "-" (stdin), "| shell command" (spawned; its stdout is read), or a path.
A regular file is read in a worker thread in chunks (epoll cannot watch files); stdin, FIFOs
and pipes through asyncio's pipe transport, so the event loop never blocks on them. A pipe's
chunks go to the consumer in the transport's own read callback (stream()), with no task,
future or stream buffer between.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import stat
import sys
from collections.abc import Callable
from typing import BinaryIO

from gatewayd.radios.base import Lifecycle, RadioLost
from gatewayd.radios.pacing import ReadPacer

CHUNK = 65536


def _small_reads(transport: object) -> None:
    """asyncio's pipe transport reads up to 256 KiB at a time, so every read allocates (and,
    being that large, maps and unmaps) 256 KiB for a line of ~150 bytes: ~12 us a telegram here.
    CHUNK at a time (from the heap) is as fast, and more than a radio sends between reads."""
    if transport is not None and hasattr(transport, "max_size"):
        transport.max_size = CHUNK


def _is_regular(fd: int) -> bool:
    return stat.S_ISREG(os.fstat(fd).st_mode)


class _PipeReader(asyncio.Protocol):
    """A read pipe's protocol: each chunk to `on_data` in the callback that read it (push), or,
    while nobody pushes, held with reading paused until read() takes it (pull)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.transport: asyncio.ReadTransport | None = None
        self.on_data: Callable[[bytes], None] | None = None
        self.chunks: collections.deque[bytes] = collections.deque()
        self.ended = False  # end of the stream seen
        self.error: BaseException | None = None  # the read failed, or on_data raised
        self.waiter: asyncio.Future[None] | None = None
        self.pacer: ReadPacer | None = None  # while pushing: reading pauses after each chunk

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.ReadTransport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        on_data = self.on_data
        if on_data is not None:
            try:
                on_data(data)
            except Exception as exc:  # the consumer's: stream() raises it
                self.on_data = None
                self.fail(exc)
                return
            if self.pacer is not None:
                self.pacer.after_read(self.transport)
            return
        self.chunks.append(data)
        self.pause()
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        if exc is not None and self.error is None:
            self.error = RadioLost(f"{self.device}: read failed: {exc}")
        self._wake()

    def fail(self, exc: BaseException) -> None:
        self.error = self.error or exc
        self.pause()
        self._wake()

    def pause(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def wait(self) -> None:
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None


class TextSource(Lifecycle):
    """`async with TextSource(device) as src: await src.stream(on_data)`: every chunk read, to
    on_data in the callback that read it, until the end of the stream. Or pull:
    `chunk = await src.read()` (b"" at the end)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.is_command = device.lstrip().startswith("|")
        self._proc: asyncio.subprocess.Process | None = None
        self._pipe: _PipeReader | None = None
        self._file: BinaryIO | None = None

    async def open(self) -> None:
        if self.is_command:
            cmd = self.device.lstrip()[1:].strip()
            read_fd, write_fd = os.pipe()
            try:
                self._proc = await asyncio.create_subprocess_shell(
                    cmd,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=write_fd,
                    start_new_session=True,  # its own process group: we stop the whole pipeline
                )
            except BaseException:
                os.close(read_fd)
                raise
            finally:
                os.close(write_fd)
            await self._connect(os.fdopen(read_fd, "rb", buffering=0))
            return
        try:
            fd = (
                os.dup(sys.stdin.fileno())
                if self.device == "-"
                else os.open(self.device, os.O_RDONLY | os.O_NONBLOCK)
            )
        except OSError as exc:
            raise RadioLost(f"cannot open {self.device}: {exc.strerror}") from exc
        f = os.fdopen(fd, "rb", buffering=0)
        if _is_regular(fd):
            os.set_blocking(fd, True)
            self._file = f
            return
        await self._connect(f)

    async def _connect(self, f: BinaryIO) -> None:
        pipe = self._pipe = _PipeReader(self.device)
        try:
            transport, _ = await asyncio.get_running_loop().connect_read_pipe(lambda: pipe, f)
        except BaseException:
            f.close()
            raise
        _small_reads(transport)

    async def stream(self, on_data: Callable[[bytes], None], *, interval_s: float = 0.0) -> None:
        """on_data(chunk) for every chunk, as it is read; returns at the end of the stream.
        What on_data raises ends the stream and is raised here. interval_s: after each chunk,
        reading pauses that long, so what comes meanwhile is one chunk (pacing.py)."""
        if self._file is not None:
            while chunk := await self.read():
                on_data(chunk)
            return
        pipe = self._pipe
        assert pipe is not None
        while pipe.chunks:  # read before anyone streamed
            on_data(pipe.chunks.popleft())
        pipe.on_data = on_data
        pipe.pacer = ReadPacer(
            interval_s, still_wanted=lambda: pipe.on_data is not None and pipe.error is None
        )
        pipe.resume()
        try:
            while not pipe.ended and pipe.error is None:
                await pipe.wait()
        finally:
            pipe.on_data = None
            pipe.pacer.cancel()
            pipe.pacer = None
        if pipe.error is not None:
            raise pipe.error

    async def read(self) -> bytes:
        if self._file is not None:
            return await asyncio.to_thread(self._file.read, CHUNK)
        pipe = self._pipe
        assert pipe is not None
        while not pipe.chunks:
            if pipe.error is not None:
                raise pipe.error
            if pipe.ended:
                return b""
            pipe.resume()
            await pipe.wait()
        return pipe.chunks.popleft()

    def read_now(self) -> bytes:
        """What the pipe holds now, read at once without waiting for the loop to see it (b""
        for a regular file, which is read as it is asked)."""
        pipe = self._pipe
        if pipe is None or pipe.transport is None or pipe.transport.is_closing():
            return b""
        held = b"".join(pipe.chunks)
        pipe.chunks.clear()
        fileobj = pipe.transport.get_extra_info("pipe")
        out = [held]
        with contextlib.suppress(OSError):  # BlockingIOError: nothing more there
            while chunk := os.read(fileobj.fileno(), CHUNK):
                out.append(chunk)
        return b"".join(out)

    async def end_reason(self) -> str:
        """Why the stream ended (after read() returned b""), for the log line."""
        if self._proc is None:
            return "end of input"
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                await self._proc.wait()
        return f"command exited with status {self._proc.returncode}"

    async def aclose(self) -> None:
        if self._pipe is not None and self._pipe.transport is not None:
            self._pipe.transport.close()
        if self._file is not None:
            self._file.close()
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await proc.wait()
        finally:
            # Also when the shell exited of SIGTERM (a child that ignores it is still in the
            # group), and when this task is cancelled while it waits: the cancellation goes on
            # once the group is killed and the shell reaped.
            self._signal_group(signal.SIGKILL)
            await asyncio.shield(proc.wait())

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)


class TextSourceRadio(Lifecycle):
    """The lifecycle shared by radios that read a TextSource (rtl_wmbus, replay)."""

    kind: str
    device: str
    _source: TextSource
    read_interval_s = 0.0  # [radio] read_interval_ms (the supervisor sets it); pacing.py

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.device}"

    async def open(self) -> None:
        await self._source.open()

    async def aclose(self) -> None:
        await self._source.aclose()
