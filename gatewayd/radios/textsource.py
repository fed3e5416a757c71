"""Byte streams that are not serial ports: stdin, a file or FIFO, or a spawned pipeline.

device forms: "-" (stdin), "| shell command" (spawned; its stdout is read), or a path.
A regular file is read in a worker thread in chunks (epoll cannot watch files); stdin, FIFOs
and pipes through asyncio's pipe transport, so the event loop never blocks on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import sys
from typing import BinaryIO

from gatewayd.radios.base import Lifecycle, RadioLost

CHUNK = 65536


def _small_reads(transport: object) -> None:
    """asyncio's pipe transport reads up to 256 KiB at a time, so every read allocates (and,
    being that large, maps and unmaps) 256 KiB for a line of ~150 bytes: ~12 us a telegram here.
    CHUNK at a time (from the heap) is as fast, and more than a radio sends between reads."""
    if transport is not None and hasattr(transport, "max_size"):
        transport.max_size = CHUNK


def _is_regular(fd: int) -> bool:
    return stat.S_ISREG(os.fstat(fd).st_mode)


class TextSource(Lifecycle):
    """`async with TextSource(device) as src: chunk = await src.read()` (b"" at the end)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.is_command = device.lstrip().startswith("|")
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.StreamReader | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._file: BinaryIO | None = None

    async def open(self) -> None:
        if self.is_command:
            cmd = self.device.lstrip()[1:].strip()
            self._proc = await asyncio.create_subprocess_shell(
                cmd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                start_new_session=True,  # its own process group: we stop the whole pipeline
            )
            self._reader = self._proc.stdout
            _small_reads(getattr(self._reader, "_transport", None))
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
        reader = self._reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), f
        )
        _small_reads(self._transport)

    async def read(self) -> bytes:
        if self._file is not None:
            return await asyncio.to_thread(self._file.read, CHUNK)
        assert self._reader is not None
        return await self._reader.read(CHUNK)

    async def end_reason(self) -> str:
        """Why the stream ended (after read() returned b""), for the log line."""
        if self._proc is None:
            return "end of input"
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                await self._proc.wait()
        return f"command exited with status {self._proc.returncode}"

    async def aclose(self) -> None:
        if self._transport is not None:
            self._transport.close()
        if self._file is not None:
            self._file.close()
        if self._proc is not None and self._proc.returncode is None:
            self._signal_group(signal.SIGTERM)
            try:
                async with asyncio.timeout(2):
                    await self._proc.wait()
            except TimeoutError:
                self._signal_group(signal.SIGKILL)
                await self._proc.wait()

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)


class TextSourceRadio(Lifecycle):
    """The lifecycle shared by radios that read a TextSource (rtl_wmbus, replay)."""

    kind: str
    device: str
    _source: TextSource

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.device}"

    async def open(self) -> None:
        await self._source.open()

    async def aclose(self) -> None:
        await self._source.aclose()
