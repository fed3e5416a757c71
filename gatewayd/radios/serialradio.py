"""The thin asyncio pump shared by the serial modules (iM871A, AMB8465, CUL).

A module subclass supplies a pure framer, `configure()` (its command exchange, written with
`request()`), and `to_frame()` (a framer item -> RadioFrame, or None for replies). This class
owns the port, one reader task, the pending-reply waiters and a bounded frame queue: a slow
consumer makes us drop (and count) frames, never block the port.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import ClassVar, Generic, Protocol, TypeVar

from gatewayd.radios.base import Lifecycle, ListenMode, RadioFrame, RadioLost
from gatewayd.radios.serialport import close_serial, describe_port, is_port_error, open_serial
from gatewayd.tasks import cancel_and_wait
from gatewayd.wmbus.link import FrameFormat

log = logging.getLogger(__name__)

Item = TypeVar("Item")
QUEUE_MAX = 1000
MIN_TELEGRAM = 10  # C M M A A A A A A CI after the L field
READ_SIZE = 4096


class Framer(Protocol[Item]):
    counters: collections.Counter[str]

    def feed(self, data: bytes) -> list[Item]: ...


class SerialRadio(Lifecycle, abc.ABC, Generic[Item]):
    """An open, configured serial module: `async with radio: async for f in radio.frames()`."""

    kind: ClassVar[str]
    baudrate: ClassVar[int]

    def __init__(self, device: str, mode: ListenMode, *, reply_timeout_s: float = 1.0) -> None:
        self.device = device
        self.mode = mode
        self.reply_timeout_s = reply_timeout_s
        self.framer = self.new_framer()
        self.counters: collections.Counter[str] = self.framer.counters  # one set per attempt
        self.info: dict[str, str] = {}  # what configure() learned (firmware, module type)
        # frames, then (at the end) RadioLost, or any other exception: a bug, raised to the caller
        self._queue: asyncio.Queue[RadioFrame | BaseException] = asyncio.Queue(QUEUE_MAX)
        self._waiters: list[tuple[Callable[[Item], bool], asyncio.Future[Item]]] = []
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None
        self._lost: RadioLost | None = None

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.device}"

    # ---- what a module provides ----

    @abc.abstractmethod
    def new_framer(self) -> Framer[Item]: ...

    @abc.abstractmethod
    async def configure(self) -> None:
        """Ping, identify and set the link mode, with `request()`; RadioLost if it won't."""

    @abc.abstractmethod
    def to_frame(self, item: Item) -> RadioFrame | None:
        """A received telegram as a RadioFrame, or None when the item is not a telegram."""

    # ---- lifecycle ----

    async def open(self) -> None:
        reader, self._writer = await open_serial(self.device, self.baudrate)
        self._pump = asyncio.create_task(self._read_loop(reader), name=f"read {self.name}")
        await self.configure()
        log.debug("%s configured on %s: %s", self.kind, describe_port(self.device), self.info)

    async def aclose(self) -> None:
        if self._pump is not None:
            await cancel_and_wait(self._pump)
            self._pump = None
        while not self._queue.empty():  # heard, but nobody reads this radio any more
            if isinstance(self._queue.get_nowait(), RadioFrame):
                self.counters["frames_dropped_at_close"] += 1
        if self._writer is not None:
            await close_serial(self._writer)
            self._writer = None

    async def frames(self) -> AsyncIterator[RadioFrame]:
        while True:
            item = await self._queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item

    async def take_received(self) -> list[RadioFrame]:
        """The frames queued and not yet handed out by frames(), without waiting for more: a
        silence reset that fires as one arrives ends the wait for it, and it must still be
        delivered. One loop iteration first, so that a chunk the port has already handed to the
        reader task is framed too. What ends the queue (RadioLost, a bug) stays in it."""
        await asyncio.sleep(0)
        taken: list[RadioFrame] = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if not isinstance(item, RadioFrame):
                self._queue.put_nowait(item)  # the only item left: it was queued last
                break
            taken.append(item)
        return taken

    def clean_frame(self, frame: bytes, rssi_dbm: float | None) -> RadioFrame | None:
        """A clean telegram (L first, no CRCs) as a RadioFrame; None (counted) when too short."""
        if len(frame) - 1 < MIN_TELEGRAM:
            self.counters["short_telegrams"] += 1
            return None
        return RadioFrame(
            frame=frame,
            rssi_dbm=rssi_dbm,
            link_mode=self.mode.link_mode,
            frame_format=FrameFormat.CLEAN,
            received_at=time.time(),
            radio=self.name,
        )

    # ---- helpers for configure() ----

    async def send(self, data: bytes) -> None:
        if self._lost is not None:
            raise self._lost
        if self._writer is None:
            raise RadioLost(f"{self.name}: port not open")
        try:
            self._writer.write(data)
            await self._writer.drain()
        except Exception as exc:
            if is_port_error(exc):
                raise RadioLost(f"{describe_port(self.device)}: write failed: {exc}") from exc
            raise

    async def request(self, data: bytes, match: Callable[[Item], bool], what: str) -> Item:
        """Send `data` and wait for the first item that `match`es (registered before sending)."""
        fut: asyncio.Future[Item] = asyncio.get_running_loop().create_future()
        waiter = (match, fut)
        self._waiters.append(waiter)
        try:
            await self.send(data)
            async with asyncio.timeout(self.reply_timeout_s):
                return await fut
        except TimeoutError:
            raise RadioLost(
                f"{describe_port(self.device)}: no answer to {what} "
                f"within {self.reply_timeout_s:g} s"
            ) from None
        finally:
            self._waiters.remove(waiter)

    # ---- the pump ----

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                chunk = await reader.read(READ_SIZE)
                if not chunk:
                    raise RadioLost(f"{describe_port(self.device)}: port closed")
                self.counters["reads"] += 1
                for item in self.framer.feed(chunk):
                    self._dispatch(item)
        except RadioLost as exc:
            self._set_lost(exc)
        except Exception as exc:
            # A port error means the radio is lost; anything else is a bug, which frames() (or
            # the pending request) raises as it is.
            port = is_port_error(exc)
            self._set_lost(RadioLost(f"{describe_port(self.device)}: {exc}") if port else exc)

    def _dispatch(self, item: Item) -> None:
        frame = self.to_frame(item)
        if frame is not None:
            try:
                self._queue.put_nowait(frame)
            except asyncio.QueueFull:
                self.counters["frames_dropped_queue_full"] += 1
            return
        for match, fut in self._waiters:
            if not fut.done() and match(item):
                fut.set_result(item)
                return
        self.counters["unsolicited_replies"] += 1

    def _set_lost(self, exc: Exception) -> None:
        self._lost = exc if isinstance(exc, RadioLost) else RadioLost(f"{self.name}: {exc!r}")
        for _match, fut in self._waiters:
            if not fut.done():
                fut.set_exception(exc)
        # The lost marker must reach frames() even when the queue is full of frames.
        while True:
            try:
                self._queue.put_nowait(exc)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()
                self.counters["frames_dropped_queue_full"] += 1
