"""The pty half of the module simulators (see radios/sim.py for the modules).

Byte-exact simulators of the serial modules on a pseudo-terminal (tests and `gatewayd demo`).

A simulator owns the master side of an os.openpty() pair; the radio opens the slave side through
radios/serial.py exactly as it opens /dev/ttyUSB0. It answers the configuration commands with the
module's reply bytes, and once configured streams data indications for the clean
frames it is given, adding RSSI, checksums and CRCs as the module does. Commands are recognised
by their literal bytes, not by our framers, so an encoder/decoder mistake cannot cancel out.

    async with ImstSimulator(frames=[k1], rate=10, link=tmp / "ttyWMBUS") as sim:
        radio = open_radio("im871a", sim.device_path)

`unplug()` closes the pty (the radio's reads fail) and removes the symlink; `replug()` makes a
new pty, re-targets the symlink, and comes back unconfigured, as a re-plugged stick does.
"""

from __future__ import annotations

import abc
import array
import asyncio
import collections
import contextlib
import fcntl
import os
import termios
import tty
from collections.abc import Coroutine, Iterable
from pathlib import Path

from gatewayd.radios.base import Lifecycle
from gatewayd.tasks import cancel_and_wait

DRAIN_TIMEOUT_S = 1.0


class PtySimulator(Lifecycle, abc.ABC):
    def __init__(
        self,
        frames: Iterable[bytes] = (),
        *,
        rate: float = 10.0,
        repeat: bool = False,
        link: str | Path | None = None,
        chunk_size: int | None = None,
        rssi_raw: int = 0xB4,
    ) -> None:
        self.rate = rate
        self.repeat = repeat
        self.link = Path(link) if link is not None else None
        self.chunk_size = chunk_size  # write data indications in pieces this big, each drained
        self.rssi_raw = rssi_raw
        self.answering = True  # False: a module that stopped answering commands
        self.mode: str | None = None  # set by the configuration commands; None after power-up
        self.config_count = 0
        self.counters: collections.Counter[str] = collections.Counter()
        self.commands: list[bytes] = []  # every recognised command, as received
        # (kind, bytes, raw RSSI for this frame or None = the current rssi_raw)
        self._queue: collections.deque[tuple[str, bytes, int | None]] = collections.deque(
            ("frame", f, None) for f in frames
        )
        self._has_items = asyncio.Event()
        self._streaming = asyncio.Event()  # configured and not paused
        self._paused = False
        self._write_lock = asyncio.Lock()
        self._rx = bytearray()
        self._master = -1
        self._slave = -1
        self.pts_path = ""
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- what a module simulator provides ----

    @abc.abstractmethod
    def data_indication(self, frame: bytes) -> bytes:
        """The bytes the module sends for one received clean frame."""

    @abc.abstractmethod
    def handle(self, buf: bytearray) -> tuple[int, bytes] | None:
        """Consume one command from the start of buf: (bytes used, reply), or None: need more."""

    def power_up(self) -> None:
        """Volatile state after plugging in (non-volatile settings survive)."""
        self.mode = None

    # ---- public API ----

    @property
    def device_path(self) -> str:
        return str(self.link) if self.link is not None else self.pts_path

    def send(self, *frames: bytes, rssi_raw: int | None = None) -> None:
        """Queue clean frames to be heard (sent at `rate` once configured), optionally each
        with its own raw RSSI byte (module units; default: the current `rssi_raw`)."""
        self._queue.extend(("frame", f, rssi_raw) for f in frames)
        self._has_items.set()

    def inject(self, raw: bytes) -> None:
        """Queue raw bytes (noise, a corrupt frame) to be written in stream order."""
        self._queue.append(("raw", raw, None))
        self._has_items.set()

    def pause(self) -> None:
        """Stop streaming (a module that goes quiet); commands are still answered."""
        self._paused = True
        self._update_streaming()

    def resume(self) -> None:
        self._paused = False
        self._update_streaming()

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def start(self) -> None:
        self._open_pty()
        self._task = asyncio.create_task(self._stream(), name=f"{type(self).__name__} stream")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        for t in list(self._tasks):
            t.cancel()
        self._close_pty()
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

    async def unplug(self) -> None:
        """The stick is pulled: the pty closes and the by-id style symlink disappears."""
        async with self._write_lock:
            self._close_pty()
            if self.link is not None:
                with contextlib.suppress(FileNotFoundError):
                    self.link.unlink()
        self.counters["unplugged"] += 1

    async def replug(self) -> None:
        """A new pty appears (new /dev/pts/N), the symlink follows it; the module is reset."""
        async with self._write_lock:
            self._open_pty()
        self.counters["replugged"] += 1

    async def open(self) -> None:
        await self.start()

    async def aclose(self) -> None:
        await self.stop()

    # ---- pty plumbing ----

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # as pyserial will; no echo or CR/LF mangling before the radio opens
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.pts_path = os.ttyname(slave)
        self._rx.clear()
        self.power_up()
        self._update_streaming()
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + ".new")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self.pts_path)
            tmp.replace(self.link)
        asyncio.get_running_loop().add_reader(master, self._on_readable)

    def _close_pty(self) -> None:
        if self._master >= 0:
            asyncio.get_running_loop().remove_reader(self._master)
            os.close(self._master)
            os.close(self._slave)
        self._master = self._slave = -1
        self._update_streaming()

    def _on_readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            return
        self._rx += data
        while self._rx:
            got = self.handle(self._rx)
            if got is None:
                break
            used, reply = got
            if used == 0:  # not a command we know: skip a byte, as the module would
                self.counters["unknown_bytes"] += 1
                del self._rx[:1]
                continue
            self.commands.append(bytes(self._rx[:used]))
            del self._rx[:used]
            if reply and self.answering:
                self._spawn(self._write(reply))
        self._update_streaming()

    def _spawn(self, coro: Coroutine[None, None, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _update_streaming(self) -> None:
        if self.mode is not None and not self._paused and self._master >= 0:
            self._streaming.set()
        else:
            self._streaming.clear()

    async def _stream(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            if not self._streaming.is_set():
                await self._streaming.wait()
                next_at = loop.time()
            if not self._queue:
                self._has_items.clear()
                await self._has_items.wait()
                next_at = loop.time()
                continue
            kind, data, rssi = self._queue.popleft()
            if kind == "raw":
                await self._write(data, chunked=True)
                continue
            if rssi is not None:
                self.rssi_raw = rssi
            await self._write(self.data_indication(data), chunked=True)
            self.counters["frames_sent"] += 1
            if self.repeat:
                self._queue.append((kind, data, rssi))
            # an absolute schedule keeps `rate` exact; after a stall it restarts from now
            next_at = max(next_at + (1 / self.rate if self.rate > 0 else 0), loop.time() - 1)
            await asyncio.sleep(max(next_at - loop.time(), 0))  # rate 0: still yield

    async def _write(self, data: bytes, *, chunked: bool = False) -> None:
        step = self.chunk_size if chunked and self.chunk_size else len(data)
        async with self._write_lock:
            for pos in range(0, len(data), step):
                if self._master < 0:
                    return  # unplugged mid-write: the rest is lost, as on a real stick
                await self._write_all(data[pos : pos + step])
                if step < len(data):
                    await self._drained()

    async def _write_all(self, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._master, view)
                view = view[n:]
            except BlockingIOError:
                ready = loop.create_future()
                loop.add_writer(self._master, ready.set_result, None)
                try:
                    await ready
                finally:
                    loop.remove_writer(self._master)

    async def delivered(self, timeout: float = 10) -> None:
        """Wait until the radio has read every byte written so far (the slave side's input queue
        is empty), so that a test can stop the daemon knowing the frames reached it."""
        buf = array.array("i", [0])
        loop = asyncio.get_running_loop()
        settled_by = loop.time() + 0.05  # the pty moves written bytes over a moment later
        async with asyncio.timeout(timeout):
            while self._slave >= 0:
                fcntl.ioctl(self._slave, termios.FIONREAD, buf)
                if buf[0] == 0 and loop.time() > settled_by:
                    return
                await asyncio.sleep(0.001)

    async def _drained(self) -> None:
        """Wait until the radio has read what we wrote: the pty moves the bytes to the slave's
        input queue a moment after the write, then the radio's read empties it."""
        buf = array.array("i", [0])
        loop = asyncio.get_running_loop()
        arrived_by = loop.time() + 0.005
        seen = False
        with contextlib.suppress(TimeoutError, OSError):
            async with asyncio.timeout(DRAIN_TIMEOUT_S):
                while self._slave >= 0:
                    fcntl.ioctl(self._slave, termios.FIONREAD, buf)
                    seen = seen or buf[0] > 0
                    if buf[0] == 0 and (seen or loop.time() > arrived_by):
                        return
                    await asyncio.sleep(0.0002)
