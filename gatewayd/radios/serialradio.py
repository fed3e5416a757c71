"""The thin asyncio layer shared by the serial modules (iM871A, AMB8465, iU891A, CUL).

A module subclass supplies a pure framer, `configure()` (its command exchange, written with
`request()`), and `to_frame()` (a framer item -> RadioFrame, or None for replies). This class
owns the port (an asyncio protocol on pyserial-asyncio-fast's transport) and the pending-reply
waiters: every read is framed in the transport's read callback, a reply completes its waiter
and a telegram goes straight to run()'s `deliver` (delivery.Reception: held, bounded, while the
module is configured), so a frame costs no task, queue or loop iteration.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import logging
import time
from collections.abc import Callable
from typing import ClassVar, Generic, Protocol, TypeVar

from gatewayd.radios.base import Lifecycle, ListenMode, RadioFrame, RadioLost
from gatewayd.radios.delivery import FrameSink, Reception
from gatewayd.radios.pacing import ReadPacer
from gatewayd.radios.serialport import (
    SerialPort,
    describe_port,
    is_port_error,
    open_serial,
    read_waiting,
)
from gatewayd.wmbus.link import FrameFormat

log = logging.getLogger(__name__)

Item = TypeVar("Item")
MIN_TELEGRAM = 10  # C M M A A A A A A CI after the L field


class Framer(Protocol[Item]):
    counters: collections.Counter[str]

    def feed(self, data: bytes) -> list[Item]: ...


class SerialRadio(Lifecycle, abc.ABC, Generic[Item]):
    """An open, configured serial module: `async with radio: await radio.run(deliver)`."""

    kind: ClassVar[str]
    read_interval_s = 0.0  # [radio] read_interval_ms (the supervisor sets it); pacing.py
    baudrate: ClassVar[int]

    def __init__(self, device: str, mode: ListenMode, *, reply_timeout_s: float = 1.0) -> None:
        self.device = device
        self.mode = mode
        self.reply_timeout_s = reply_timeout_s
        self.framer = self.new_framer()
        self.counters: collections.Counter[str] = self.framer.counters  # one set per attempt
        self.info: dict[str, str] = {}  # what configure() learned (firmware, module type)
        self._rx = Reception(self.counters)
        self._waiters: list[tuple[Callable[[Item], bool], asyncio.Future[Item]]] = []
        self._port: SerialPort | None = None
        self._pacer: ReadPacer | None = None  # while run() runs
        self._lost: RadioLost | None = None
        self.label = self.name  # each frame's `radio`
        self.link_mode = mode.link_mode  # each frame's, when the module does not say

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
        self._port = await open_serial(self.device, self.baudrate, self._received, self._closed)
        await self.configure()
        log.debug("%s configured on %s: %s", self.kind, describe_port(self.device), self.info)

    async def aclose(self) -> None:
        self._rx.close()  # heard, but nobody reads this radio any more
        if self._port is not None:
            port, self._port = self._port, None
            await port.close()

    async def run(self, deliver: FrameSink) -> None:
        """Every telegram to `deliver`, in the read callback that framed it; RadioLost when the
        port goes, or what framing or `deliver` raised."""
        pacer = self._pacer = ReadPacer(
            self.read_interval_s, still_wanted=lambda: self._rx.ended is None
        )
        try:
            await self._rx.run(deliver)
        finally:
            pacer.cancel()
            self._pacer = None

    def take_received(self) -> list[RadioFrame]:
        """The frames held and the ones in what the port holds now, read without waiting: a
        silence reset that fires as a frame arrives must still deliver it."""
        if self._port is not None and self._rx.ended is None:
            try:
                data = read_waiting(self._port)
            except Exception:  # the port is going: what it held is gone with it
                data = b""
            if data:
                self._received(data)
        return self._rx.take_held()

    def clean_frame(self, frame: bytes, rssi_dbm: float | None) -> RadioFrame | None:
        """A clean telegram (L first, no CRCs) as a RadioFrame; None (counted) when too short."""
        if len(frame) - 1 < MIN_TELEGRAM:
            self.counters["short_telegrams"] += 1
            return None
        return RadioFrame(
            frame=frame,
            rssi_dbm=rssi_dbm,
            link_mode=self.link_mode,
            frame_format=FrameFormat.CLEAN,
            received_at=time.time(),
            radio=self.label,
        )

    # ---- helpers for configure() ----

    async def send(self, data: bytes) -> None:
        if self._lost is not None:
            raise self._lost
        if self._port is None:
            raise RadioLost(f"{self.name}: port not open")
        try:
            await self._port.write(data)
        except Exception as exc:
            if is_port_error(exc):
                raise RadioLost(f"{describe_port(self.device)}: write failed: {exc}") from exc
            raise
        if self._lost is not None:
            raise self._lost

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

    # ---- the port's callbacks ----

    def _received(self, chunk: bytes) -> None:
        if self._rx.ended is not None:
            return
        self.counters["reads"] += 1
        try:
            for item in self.framer.feed(chunk):
                self._dispatch(item)
        except Exception as exc:  # a bug (ours, or in what `deliver` called): raised by run()
            self._set_lost(exc)
            if self._port is not None:
                self._port.stop_reading()
            return
        if self._pacer is not None and not self._waiters and self._port is not None:
            self._pacer.after_read(self._port.transport)  # a batch per read (pacing.py)

    def _closed(self, exc: Exception | None) -> None:
        """The port closed under us (unplugged, or a read failed)."""
        if exc is None:
            self._set_lost(RadioLost(f"{describe_port(self.device)}: port closed"))
        elif is_port_error(exc):
            self._set_lost(RadioLost(f"{describe_port(self.device)}: {exc}"))
        else:
            self._set_lost(exc)

    def _dispatch(self, item: Item) -> None:
        frame = self.to_frame(item)
        if frame is not None:
            self._rx.deliver(frame)
            return
        for match, fut in self._waiters:
            if not fut.done() and match(item):
                fut.set_result(item)
                return
        self.counters["unsolicited_replies"] += 1

    def _set_lost(self, exc: Exception) -> None:
        if self._rx.ended is not None:
            return
        self._lost = exc if isinstance(exc, RadioLost) else RadioLost(f"{self.name}: {exc!r}")
        for _match, fut in self._waiters:
            if not fut.done():
                fut.set_exception(exc)
        self._rx.end(exc)
