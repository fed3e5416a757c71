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
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import ClassVar, Generic, Protocol, Self, TypeVar

from gatewayd.radios.base import ListenMode, RadioFrame, RadioLost
from gatewayd.radios.serialport import close_serial, describe_port, is_port_error, open_serial

log = logging.getLogger(__name__)

Item = TypeVar("Item")
QUEUE_MAX = 1000
READ_SIZE = 4096


class Framer(Protocol[Item]):
    counters: collections.Counter[str]

    def feed(self, data: bytes) -> list[Item]: ...


class SerialRadio(abc.ABC, Generic[Item]):
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
        self._queue: asyncio.Queue[RadioFrame | RadioLost] = asyncio.Queue(QUEUE_MAX)
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

    async def __aenter__(self) -> Self:
        reader, self._writer = await open_serial(self.device, self.baudrate)
        self._pump = asyncio.create_task(self._read_loop(reader), name=f"read {self.name}")
        try:
            await self.configure()
        except BaseException:
            await self.aclose()
            raise
        log.debug("%s configured on %s: %s", self.kind, describe_port(self.device), self.info)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        if self._writer is not None:
            await close_serial(self._writer)
            self._writer = None

    async def frames(self) -> AsyncIterator[RadioFrame]:
        while True:
            item = await self._queue.get()
            if isinstance(item, RadioLost):
                raise item
            yield item

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
            if not is_port_error(exc):
                raise
            self._set_lost(RadioLost(f"{describe_port(self.device)}: {exc}"))

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

    def _set_lost(self, exc: RadioLost) -> None:
        self._lost = exc
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
