"""The daemon's per-meter health watch: the pure `HealthBoard` (gatewayd.daemon.health) with a
clock, its log lines, and the sinks that show it (MQTT `health/<id>`, BLE).

Log lines, once per transition:
- WARNING `meter_silent` (METER_ID=): a meter went silent, or was never heard;
- INFO `meter_back` (METER_ID=): it is heard again (or for the first time after never_heard).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from gatewayd.daemon.health import HealthBoard, MeterHealth, State, Transition
from gatewayd.daemon.logs import fields, meter_label
from gatewayd.sinks.base import HealthReport, HealthSink

if TYPE_CHECKING:  # the decode side is imported after READY=1
    from gatewayd.config.schema import Config
    from gatewayd.daemon.pipeline import Pipeline
    from gatewayd.radios.base import RadioFrame

log = logging.getLogger("gatewayd.daemon.health")

TICK_S = 1.0  # how often thresholds are checked (O(meters) each time)


def report(m: MeterHealth) -> HealthReport:
    interval = m.interval_s
    return HealthReport(
        id=m.id,
        name=m.name,
        state=m.state.value,
        last_seen=m.last_seen,
        interval_s=None if interval is None else round(interval, 1),
        rssi_dbm=m.rssi_dbm,
        telegrams=m.telegrams,
    )


class HealthWatch:
    def __init__(self, config: Config, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.board = HealthBoard(config.meters, clock(), config.health.silent_after_s)
        self._sinks: list[HealthSink] = []
        # A learnt interval moved since the last save: worth saving even when no reading
        # changed (a meter heard but never decrypted has intervals and no readings).
        self.intervals_changed = False

    def attach(
        self,
        sinks: Iterable[object],
        pipeline: Pipeline | None = None,
        intervals: Mapping[str, float] | None = None,
    ) -> None:
        """Hear the pipeline's telegrams, start from the intervals a previous run learnt, give
        every sink that shows health its source, and every meter's health now."""
        if pipeline is not None:
            pipeline.on_heard = self.heard
        self.board.restore(intervals or {})
        self._sinks = [s for s in sinks if isinstance(s, HealthSink)]
        for sink in self._sinks:
            _guard(sink.attach_health, self.reports)
        self._push([report(m) for m in self.board])

    def restore(self, intervals: Mapping[str, float]) -> None:
        self.board.restore(intervals)

    def intervals(self) -> dict[str, float]:
        return self.board.intervals()

    def reports(self) -> list[HealthReport]:
        return [report(m) for m in self.board]

    def counts(self) -> dict[str, int]:
        return self.board.counts()

    def summary(self) -> str:
        """`meters 2 ok, 1 silent, 0 never heard` (for STATUS=)."""
        c = self.board.counts()
        return f"meters {c['ok']} ok, {c['silent']} silent, {c['never_heard']} never heard"

    def heard(self, meter_id: str, rf: RadioFrame) -> None:
        """The pipeline heard a telegram from a configured meter (after the dedup)."""
        m = self.board.get(meter_id)
        before = None if m is None else m.interval_s
        t = self.board.heard(meter_id, self._clock(), rf.rssi_dbm, rf.received_at)
        if m is not None and m.interval_s != before:
            self.intervals_changed = True
        if t is not None:
            self._transitions([t])

    def tick(self) -> None:
        transitions = self.board.tick(self._clock())
        if transitions:
            self._transitions(transitions)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self.tick()

    def reload(self, config: Config) -> None:
        """Meters added start their never-heard wait now; meters removed are dropped (and their
        retained health cleared)."""
        before = {m.id for m in self.board}
        dropped = self.board.reload(config.meters, self._clock(), config.health.silent_after_s)
        added = [report(m) for m in self.board if m.id not in before]
        if added or dropped:
            self._push(added, [m.id for m in dropped])

    # ---- internals

    def _transitions(self, transitions: Sequence[Transition]) -> None:
        for t in transitions:
            _log_transition(t, self.board.threshold(t.meter))
        self._push([report(t.meter) for t in transitions])

    def _push(self, reports: Sequence[HealthReport], removed: Sequence[str] = ()) -> None:
        for sink in self._sinks:
            _guard(sink.health_changed, reports, removed)


def _log_transition(t: Transition, threshold_s: float) -> None:
    m = t.meter
    event = "meter_silent" if t.new is not State.OK else "meter_back"
    extra = fields(event, m.id, name=m.name)
    label = meter_label(m.id, m.name)
    if t.new is State.SILENT:
        log.warning(
            "meter %s is silent: not heard for %.0f s (silent after %.0f s)",
            label,
            t.quiet_s,
            threshold_s,
            extra=extra,
        )
    elif t.new is State.NEVER_HEARD:
        log.warning(
            "meter %s never heard in %.0f s: check its id and the radio's mode "
            "(gatewayd listen shows what is heard)",
            label,
            t.quiet_s,
            extra=extra,
        )
    elif t.old is State.NEVER_HEARD:
        log.info(
            "meter %s heard for the first time, %.0f s after the watch began",
            label,
            t.quiet_s,
            extra=extra,
        )
    else:
        log.info(
            "meter %s heard again after %.0f s of silence",
            label,
            t.quiet_s,
            extra=extra,
        )


def _guard(fn: Callable[..., object], *args: object) -> None:
    try:
        fn(*args)
    except Exception:  # a sink's bug must not stop the watch
        log.exception("%r failed", fn)
