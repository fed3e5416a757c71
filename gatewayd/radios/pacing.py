"""Reading a radio at most every `[radio] read_interval_ms`, so that its telegrams come in batches.

After each read, reading stops for the interval; what the radio hears meanwhile waits in the
kernel's buffer for the port or pipe, and the next read takes all of it. Those telegrams are then
framed, decoded and committed to the outbox together, and go to the broker in one write.

Reading each telegram as it comes wakes the daemon several times a reading (the read, the
commit's answer, the broker's PUBACK), and a wake-up after a few milliseconds of idling costs
far more than the work it does (most likely the caches have gone cold). Measured with
benchmarks/pipeline.py at 100 telegrams/s, reading every 75 ms costs about a third of the CPU a
reading, for ~40 ms more latency on average (at most the interval). The buffers hold far more
than a full C1 channel sends in that time (~220 telegrams/s: ~3 KiB of rtl_wmbus text or
~1.5 KiB from a serial module in 75 ms; a pipe holds 64 KiB, a tty's buffers more than that).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol


class Pausable(Protocol):
    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def is_closing(self) -> bool: ...


class ReadPacer:
    """`pacer.after_read(transport)` after each read: reading pauses for `interval_s` (0: never).
    It resumes only if `still_wanted()` says so then (the reader may have stopped meanwhile)."""

    def __init__(self, interval_s: float, still_wanted: Callable[[], bool] = lambda: True) -> None:
        self.interval_s = interval_s
        self._still_wanted = still_wanted
        self._timer: asyncio.TimerHandle | None = None
        self.pauses = 0  # reads after which reading paused (tests, benchmarks)

    def after_read(self, transport: Pausable | None) -> None:
        if self.interval_s <= 0 or transport is None or self._timer is not None:
            return
        if transport.is_closing():
            return
        transport.pause_reading()
        self.pauses += 1
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.interval_s, self._resume, transport)

    def _resume(self, transport: Pausable) -> None:
        self._timer = None
        if not transport.is_closing() and self._still_wanted():
            transport.resume_reading()

    def cancel(self) -> None:
        """Forget the pending resume (the reader stops, or takes over the pausing itself)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
