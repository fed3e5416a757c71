"""Several radios in one daemon: each supervised on its own, their frames merged into one stream.

A telegram heard by more than one receiver arrives as identical clean frames from each. With
two or more radios the group holds a new frame for `merge_window_s` (default 0.3 s) and passes
on one copy: the one with the best RSSI, `heard_by` naming every receiver that heard it.
(Copies that arrive later, or differ, are left to the pipeline's dedup.) With one radio a frame
is passed on at once. A frame still in its window when the group stops is passed on then.

The group is up while any radio is up; `run()` ends when every radio has ended (replays),
and raises the first configuration error any radio meets.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
from collections.abc import AsyncGenerator, Sequence

from gatewayd.radios.base import RadioFrame
from gatewayd.radios.delivery import FrameSink, frames_from
from gatewayd.radios.supervisor import RadioState, RadioSupervisor
from gatewayd.tasks import cancel_and_wait

MERGE_WINDOW_S = 0.3


@dataclasses.dataclass
class _Pending:
    frame: RadioFrame
    heard_by: list[str]
    due: float


class RadioGroup:
    """`await group.run(deliver)` (or `async for frame in group.frames()`): the supervisors'
    frames, merged."""

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
        self._pending: dict[bytes, _Pending] = {}
        self._adaptor: collections.Counter[str] = collections.Counter()  # frames()' drops

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
        total.update(self._adaptor)
        total["merged_copies"] = self.merged
        return total

    def per_radio(self) -> dict[str, dict[str, str | int]]:
        """Each radio's state, why, and frames delivered (stats, STATUS=, the MQTT status)."""
        return {
            s.name: {"state": s.state.value, "reason": s.reason, "frames": s.counters["frames"]}
            for s in self.supervisors
        }

    # ---- the merge ----

    def frames(self) -> AsyncGenerator[RadioFrame, None]:
        return frames_from(self.run, self._adaptor)

    async def run(self, deliver: FrameSink) -> None:
        """Every frame to `deliver`: with one radio as it is heard; with more, a new frame
        once its merge window has passed (a frame still waiting when run() ends, or is
        cancelled, is delivered then). Returns when every radio has ended; raises the first
        configuration error (or bug) any radio meets."""
        watchers = [asyncio.create_task(self._watch(s)) for s in self.supervisors]
        try:
            if len(self.supervisors) == 1:  # nothing to merge: nothing between
                sup = self.supervisors[0]
                await sup.run(lambda heard: deliver(_named(heard, sup)))
            else:
                await self._run_merged(deliver)
        finally:
            await cancel_and_wait(*watchers)

    async def _run_merged(self, deliver: FrameSink) -> None:
        loop = asyncio.get_running_loop()
        failed: asyncio.Future[None] = loop.create_future()  # deliver raised in the timer
        timer: asyncio.TimerHandle | None = None

        def flush(*, everything: bool = False) -> None:
            nonlocal timer
            timer = None
            try:
                for frame in self._due(flush=everything):
                    deliver(frame)
            except Exception as exc:
                if not failed.done():
                    failed.set_exception(exc)
                return
            if self._pending and not everything:
                timer = loop.call_at(self._first_due(), flush)

        def heard(sup: RadioSupervisor, frame: RadioFrame) -> None:
            nonlocal timer
            ready = self._add(_named(frame, sup))
            if ready is not None:
                deliver(ready)
            elif timer is None:
                timer = loop.call_at(self._first_due(), flush)

        runs: set[asyncio.Future[None]] = {
            asyncio.create_task(s.run(functools.partial(heard, s)), name=f"radio {s.name}")
            for s in self.supervisors
        }
        try:
            while runs:
                done, _ = await asyncio.wait({*runs, failed}, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # a configuration error or a bug: raised as it is
                runs -= done
        finally:
            if timer is not None:
                timer.cancel()
            with contextlib.suppress(Exception):  # what mattered has been raised
                await cancel_and_wait(*runs)
            if not failed.done():
                flush(everything=True)  # heard, and no longer waiting for copies
            if failed.done():
                failed.exception()  # retrieved, whatever else ended run()
        if failed.done():
            failed.result()  # the last flush's deliver raised

    async def _watch(self, sup: RadioSupervisor) -> None:
        while True:
            await sup.state_changed.wait()
            self.state_changed.set()
            self.state_changed = asyncio.Event()

    def _first_due(self) -> float:
        """On the loop's clock: every frame waits the same window, so the oldest is first."""
        return next(iter(self._pending.values())).due

    def _add(self, frame: RadioFrame) -> RadioFrame | None:
        """A frame in; returned at once when nothing needs to wait for copies."""
        if self.merge_window_s <= 0:
            return frame
        pending = self._pending.get(frame.frame)
        if pending is None:
            due = asyncio.get_running_loop().time() + self.merge_window_s
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
        now = asyncio.get_running_loop().time()
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
