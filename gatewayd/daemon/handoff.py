"""Durable before anyone sees it: readings reach the sinks only once they are on disk.

With a durable sink configured (the MQTT outbox), `publish()` stages a reading and queues it;
a timer commits whatever is queued in one fsynced transaction, and only then hands the batch,
in order, to every other sink (stdout, journal, BLE). So anything a sink has shown is on disk
and will reach the broker after a crash or a power cut.

Group commit: a commit starts once the oldest reading waiting has waited `window_s` ([mqtt]
commit_window_ms), so readings that arrive within it share one transaction and one fsync.
With the default 0 the commit starts right after the loop callback that accepted the reading:
the telegrams one read of the radio brought ([radio] read_interval_ms gathers them: at 100
readings/s, every 75 ms, ~7 at a time) share one commit. The window bounds what each reading
waits for the disk beyond the commit itself; a power cut loses at most the readings not yet
committed (accepted means committed: no sink has seen them, and a meter repeats its reading
within seconds).

When the commit fails (disk full, I/O error), the batch stays queued in memory, in order, and
is retried every `retry_s` until it fits; readings past `max_waiting` are dropped oldest first
and counted as `unstored`. Without a durable sink, readings go to the sinks at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from gatewayd.config.sections import COMMIT_WINDOW_MS
from gatewayd.errors import SinkError
from gatewayd.sinks.base import DurableSink, Reading, Sink

log = logging.getLogger("gatewayd.daemon.handoff")

COMMIT_WINDOW_S = COMMIT_WINDOW_MS / 1000  # the oldest waiting reading waits this long
RETRY_S = 1.0
MAX_WAITING = 10_000

_Item = tuple[Reading, bool, Any, float]  # reading, alarm_changed, staged, loop time accepted


class Handoff:
    def __init__(
        self,
        sinks: Sequence[Sink],
        *,
        count: Callable[[str], None] = lambda _name: None,
        retry_s: float = RETRY_S,
        window_s: float = COMMIT_WINDOW_S,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self.durable: DurableSink | None = next(
            (s for s in sinks if isinstance(s, DurableSink)), None
        )
        self.others = [s for s in sinks if s is not self.durable]
        # The commit is driven by callbacks, not a task: the window's timer starts it and the
        # store's answer ends it, one loop turn each. A durable sink without store_soon()
        # (only the awaitable store()) is run in a task.
        self._store_soon: Callable[[list[Any], Callable[[BaseException | None], None]], None]
        self._store_soon = getattr(self.durable, "store_soon", None) or self._store_in_task
        self._count = count
        self._retry_s = retry_s
        self.window_s = window_s
        self._max_waiting = max_waiting
        self._waiting: deque[_Item] = deque()
        self._timer: asyncio.TimerHandle | None = None  # the next commit (window or retry)
        self._drained: asyncio.Future[None] | None = None  # drain() waits for it
        self._failing = False
        self._inflight = 0  # the first items of _waiting, in the commit running now
        self.unstored = 0
        self.stored = 0
        self.refused = 0

    @property
    def waiting(self) -> int:
        """Readings accepted but not on disk yet."""
        return len(self._waiting)

    def publish(self, reading: Reading, alarm_changed: bool) -> None:
        """Never raises, never blocks."""
        store = self.durable
        if store is None:
            self._hand_out(reading, alarm_changed)
            return
        try:
            staged = store.stage(reading, alarm_changed=alarm_changed)
        except Exception as exc:  # a reading it cannot take (no usable id): the others get it
            self.refused += 1
            if self.refused == 1:
                log.warning("%s refused a reading (%r); further ones only counted", store.name, exc)
            self._hand_out(reading, alarm_changed)
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._waiting.append((reading, alarm_changed, staged, now))
        if len(self._waiting) > self._max_waiting:  # the oldest not being committed right now
            del self._waiting[min(self._inflight, len(self._waiting) - 1)]
            self.unstored += 1
            self._count("unstored")
        if self._timer is None and not self._inflight:
            # Everything accepted until the oldest has waited the window goes in one commit
            # (one fsync); what arrives during the commit waits for the next one.
            self._timer = loop.call_at(self._waiting[0][3] + self.window_s, self._commit)

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) until everything accepted is stored and handed out."""
        if self._drained is None:
            if not self._waiting:
                return
            self._drained = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._drained)

    def _commit(self) -> None:
        self._timer = None
        if not self._waiting:
            return
        self._inflight = len(self._waiting)
        try:
            self._store_soon([staged for _r, _a, staged, _t in self._waiting], self._stored)
        except Exception as exc:  # SinkError: stopped; anything else, a bug
            self._stored(exc)

    def _store_in_task(
        self, staged: list[Any], done: Callable[[BaseException | None], None]
    ) -> None:
        assert self.durable is not None
        task = asyncio.get_running_loop().create_task(self.durable.store(staged))
        task.add_done_callback(
            lambda t: done(asyncio.CancelledError() if t.cancelled() else t.exception())
        )

    def _stored(self, error: BaseException | None) -> None:
        """The store's answer on the commit of the first `_inflight` readings waiting."""
        store = self.durable
        assert store is not None
        n, self._inflight = self._inflight, 0
        loop = asyncio.get_running_loop()
        if error is not None:  # they stay first in line, in order; retried
            if isinstance(error, SinkError):
                self._failed(error)
            else:  # a bug must not stop the readings
                log.error("%s: unexpected error storing readings", store.name, exc_info=error)
            self._timer = loop.call_later(self._retry_s, self._commit)
            return
        if self._failing:
            self._failing = False
            log.info("readings are stored again (%d were waiting)", n)
        waiting = self._waiting
        batch = [waiting.popleft() for _ in range(n)]  # new ones may have been appended meanwhile
        self.stored += n
        if waiting:
            self._timer = loop.call_at(waiting[0][3] + self.window_s, self._commit)
        elif self._drained is not None:
            if not self._drained.done():
                self._drained.set_result(None)
            self._drained = None
        for reading, alarm_changed, _staged, _t in batch:
            self._hand_out(reading, alarm_changed)

    def _failed(self, exc: SinkError) -> None:
        if not self._failing:
            self._failing = True
            log.error(
                "cannot store readings (%s): they wait in memory (up to %d, then the oldest "
                "are dropped and counted as 'unstored') and reach no sink until stored; "
                "retrying every %g s",
                exc,
                self._max_waiting,
                self._retry_s,
            )

    def _hand_out(self, reading: Reading, alarm_changed: bool) -> None:
        for sink in self.others:
            try:
                sink.publish(reading, alarm_changed=alarm_changed)
            except Exception:
                log.exception("%r failed", sink.publish)
