"""Several radios in one daemon: each supervised on its own, their frames merged into one stream.

A telegram heard by more than one receiver arrives as identical clean frames from each. With
two or more radios the group holds a new frame for `merge_window_s` (default 0.3 s) and passes
on one copy: the one with the best RSSI, `heard_by` naming every receiver that heard it.
(Copies that arrive later, or differ, are left to the pipeline's dedup.) With one radio a frame
is passed on at once.

The group is up while any radio is up; `frames()` ends when every radio has ended (replays),
and raises the first configuration error any radio meets.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import time
from collections.abc import AsyncGenerator, Sequence

from gatewayd.radios.base import RadioFrame
from gatewayd.radios.supervisor import RadioState, RadioSupervisor
from gatewayd.tasks import cancel_and_wait

MERGE_WINDOW_S = 0.3
QUEUE_MAX = 1000
_END = object()


@dataclasses.dataclass
class _Pending:
    frame: RadioFrame
    heard_by: list[str]
    due: float


class RadioGroup:
    """`async for frame in group.frames()`: the supervisors' frames, merged."""

    def __init__(
        self, supervisors: Sequence[RadioSupervisor], *, merge_window_s: float = MERGE_WINDOW_S
    ) -> None:
        if not supervisors:
            raise ValueError("a radio group needs at least one radio")
        self.supervisors = tuple(supervisors)
        self.merge_window_s = merge_window_s if len(supervisors) > 1 else 0.0
        self.name = ", ".join(s.name for s in supervisors)
        self.merged = 0  # copies folded into a frame another receiver also heard
        self.state_changed = asyncio.Event()
        self._queue: asyncio.Queue[object] = asyncio.Queue(QUEUE_MAX)
        self._pending: dict[bytes, _Pending] = {}

    # ---- what the daemon reads, as from one supervisor ----

    @property
    def state(self) -> RadioState:
        states = {s.state for s in self.supervisors}
        for state in (RadioState.RUNNING, RadioState.CONNECTING, RadioState.BACKOFF):
            if state in states:
                return state
        return RadioState.STOPPED

    @property
    def reason(self) -> str:
        return "; ".join(f"{s.name} {s.state.value}: {s.reason}" for s in self.supervisors)

    @property
    def info(self) -> dict[str, str]:
        if len(self.supervisors) == 1:
            return self.supervisors[0].info
        return {s.name: ", ".join(f"{k} {v}" for k, v in s.info.items()) for s in self.supervisors}

    @property
    def counters(self) -> collections.Counter[str]:
        total: collections.Counter[str] = collections.Counter()
        for s in self.supervisors:
            total.update(s.counters)
        total["merged_copies"] = self.merged
        return total

    def per_radio(self) -> dict[str, dict[str, str | int]]:
        """Each radio's state, why, and frames delivered (stats, STATUS=, the MQTT status)."""
        return {
            s.name: {"state": s.state.value, "reason": s.reason, "frames": s.counters["frames"]}
            for s in self.supervisors
        }

    # ---- the merge ----

    async def frames(self) -> AsyncGenerator[RadioFrame, None]:
        if len(self.supervisors) == 1:  # nothing to merge: no queue, no task between
            async for frame in self._single(self.supervisors[0]):
                yield frame
            return
        pumps = [
            asyncio.create_task(self._pump(s), name=f"radio {s.name}") for s in self.supervisors
        ]
        watchers = [asyncio.create_task(self._watch(s)) for s in self.supervisors]
        running = len(pumps)
        try:
            while running or self._pending:
                timeout = self._next_due()
                try:
                    async with asyncio.timeout(timeout):
                        item = await self._queue.get()
                except TimeoutError:
                    item = None
                if item is _END:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                elif isinstance(item, RadioFrame):
                    ready = self._add(item)
                    if ready is not None:
                        yield ready
                for frame in self._due(flush=not running):
                    yield frame
        finally:
            with contextlib.suppress(Exception):  # frames() has raised what mattered
                await cancel_and_wait(*pumps, *watchers)

    async def _single(self, sup: RadioSupervisor) -> AsyncGenerator[RadioFrame, None]:
        watcher = asyncio.create_task(self._watch(sup))
        try:
            async for heard in sup.frames():
                yield _named(heard, sup)
        finally:
            await cancel_and_wait(watcher)

    async def _pump(self, sup: RadioSupervisor) -> None:
        try:
            async for heard in sup.frames():
                await self._queue.put(_named(heard, sup))
        except Exception as exc:  # a configuration error or a bug: frames() raises it
            await self._queue.put(exc)
        else:
            await self._queue.put(_END)

    async def _watch(self, sup: RadioSupervisor) -> None:
        while True:
            await sup.state_changed.wait()
            self.state_changed.set()
            self.state_changed = asyncio.Event()

    def _next_due(self) -> float | None:
        if not self._pending:
            return None
        return max(0.0, min(p.due for p in self._pending.values()) - time.monotonic())

    def _add(self, frame: RadioFrame) -> RadioFrame | None:
        """A frame in; returned at once when nothing needs to wait for copies."""
        if self.merge_window_s <= 0:
            return frame
        pending = self._pending.get(frame.frame)
        if pending is None:
            due = time.monotonic() + self.merge_window_s
            self._pending[frame.frame] = _Pending(frame, [frame.radio], due)
            return None
        self.merged += 1
        if frame.radio not in pending.heard_by:
            pending.heard_by.append(frame.radio)
        best = pending.frame.rssi_dbm
        if frame.rssi_dbm is not None and (best is None or frame.rssi_dbm > best):
            pending.frame = frame
        return None

    def _due(self, *, flush: bool) -> list[RadioFrame]:
        now = time.monotonic()
        out = []
        for key, p in list(self._pending.items()):
            if flush or p.due <= now:
                del self._pending[key]
                out.append(dataclasses.replace(p.frame, heard_by=tuple(p.heard_by)))
        return out


def _named(heard: RadioFrame, sup: RadioSupervisor) -> RadioFrame:
    """Named after its radio's configured name; a network receiver's frames keep the address
    they came from."""
    if heard.radio != sup.name and not heard.radio.startswith("tcp:"):
        return dataclasses.replace(heard, radio=sup.name)
    return heard
