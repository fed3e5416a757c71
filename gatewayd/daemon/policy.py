"""Publish policy (PROTOCOL.md §7): publish a meter's reading when a value or an alarm changed,
and at least every `heartbeat_s`; an alarm change is published at once and flagged.

Pure: the clock is injected (Unix seconds, so a persisted state stays meaningful after a
restart) and the memory is bounded (least recently heard meters dropped first).
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Fields that change on every telegram without the meter's values changing.
VOLATILE_FIELDS = frozenset({"timestamp", "rssi_dbm"})


@dataclass(frozen=True, slots=True)
class Decision:
    publish: bool
    alarm_changed: bool
    reason: str  # first | changed | alarm | heartbeat | unchanged


@dataclass(frozen=True, slots=True)
class _Last:
    values: str  # canonical JSON of the non-volatile fields
    alarms: str  # canonical JSON of the alarms object
    published_at: float


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _any_alarm(alarms: object) -> bool:
    return isinstance(alarms, Mapping) and any(bool(v) for v in alarms.values())


class PublishPolicy:
    def __init__(
        self,
        heartbeat_s: float,
        *,
        max_meters: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.heartbeat_s = heartbeat_s
        self.max_meters = max_meters
        self._clock = clock
        self._last: OrderedDict[str, _Last] = OrderedDict()

    def decide(self, meter_id: str, reading: Mapping[str, Any]) -> Decision:
        """Whether to publish this reading; remembers it as published when the answer is yes."""
        now = self._clock()
        values = _canonical({k: v for k, v in reading.items() if k not in VOLATILE_FIELDS})
        alarms_obj = reading.get("alarms", {})
        alarms = _canonical(alarms_obj)
        last = self._last.get(meter_id)
        if last is None:
            decision = Decision(True, _any_alarm(alarms_obj), "first")
        elif alarms != last.alarms:
            decision = Decision(True, True, "alarm")
        elif values != last.values:
            decision = Decision(True, False, "changed")
        elif now - last.published_at >= self.heartbeat_s:
            decision = Decision(True, False, "heartbeat")
        else:
            decision = Decision(False, False, "unchanged")
        if decision.publish:
            self._last[meter_id] = _Last(values, alarms, now)
        if meter_id in self._last:
            self._last.move_to_end(meter_id)
        while len(self._last) > self.max_meters:
            self._last.popitem(last=False)
        return decision

    def forget(self, meter_id: str) -> None:
        self._last.pop(meter_id, None)

    # ---- persistence (JSON-serialisable)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {
            mid: {"values": e.values, "alarms": e.alarms, "published_at": e.published_at}
            for mid, e in self._last.items()
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Load a snapshot; entries that are not well-formed are skipped."""
        for mid, e in data.items():
            try:
                last = _Last(str(e["values"]), str(e["alarms"]), float(e["published_at"]))
            except (KeyError, TypeError, ValueError):
                continue
            self._last[str(mid)] = last
        while len(self._last) > self.max_meters:
            self._last.popitem(last=False)
