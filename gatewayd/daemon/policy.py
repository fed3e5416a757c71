"""Publish policy: publish a meter's reading when a value or an alarm changed,
and at least every `heartbeat_s`; an alarm change is published at once and flagged.

Pure: the clock is injected (Unix seconds, so a persisted state stays meaningful after a
restart) and the memory is bounded (least recently heard meters dropped first).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gatewayd.meters.model import Reading


@dataclass(frozen=True, slots=True)
class Decision:
    publish: bool
    alarm_changed: bool
    reason: str  # first | changed | alarm | heartbeat | unchanged


Values = tuple[object, ...]
AlarmState = tuple[tuple[str, bool], ...]


def values_of(reading: Reading) -> Values:
    """What must change for a reading to count as new: identity, named fields, records.

    Reception time and RSSI change on every telegram without the meter's values changing. The
    named fields are compared by name, not by position (a restored meter memory may list them
    in another order).
    """
    recs = tuple((r.header.difvif, r.value) for r in reading.records)
    return (reading.identity, reading.name, reading.values, reading.static, recs, reading.warnings)


def digest(values: Values) -> str:
    """A stable digest of values (for the persisted memory: survives a restart); the named
    fields are taken in name order."""
    ident, name, named, static, recs, warnings = values
    assert isinstance(named, Mapping)
    canon = (ident, name, sorted(named.items()), static, recs, warnings)
    return hashlib.blake2b(repr(canon).encode(), digest_size=16).hexdigest()


def alarm_state(reading: Reading) -> AlarmState:
    """The alarm flags by name (a restored memory may list them in another order)."""
    return tuple(sorted(reading.alarms.items())) if reading.alarms is not None else ()


@dataclass(slots=True)
class _Last:
    values: Values | None  # None after a restore, until the first comparison
    digest: str | None  # set after a restore, or computed for a snapshot
    alarms: AlarmState
    published_at: float

    def same_values(self, values: Values) -> bool:
        if self.values is not None:
            return self.values == values
        same = self.digest == digest(values)
        if same:
            self.values = values
        return same

    def stable_digest(self) -> str:
        if self.digest is None:
            assert self.values is not None
            self.digest = digest(self.values)
        return self.digest


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

    def decide(self, meter_id: str, reading: Reading) -> Decision:
        """Whether to publish this reading; remembers it as published when the answer is yes."""
        now = self._clock()
        values = values_of(reading)
        alarms = alarm_state(reading)
        last = self._last.get(meter_id)
        if last is None:
            decision = Decision(True, bool(reading.active_alarms), "first")
        elif alarms != last.alarms:
            decision = Decision(True, True, "alarm")
        elif not last.same_values(values):
            decision = Decision(True, False, "changed")
        elif now - last.published_at >= self.heartbeat_s:
            decision = Decision(True, False, "heartbeat")
        else:
            decision = Decision(False, False, "unchanged")
        if decision.publish:
            self._last[meter_id] = _Last(values, None, alarms, now)
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
            mid: {
                "digest": e.stable_digest(),
                "alarms": dict(e.alarms),
                "published_at": e.published_at,
            }
            for mid, e in self._last.items()
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Load a snapshot; entries that are not well-formed are skipped."""
        for mid, e in data.items():
            try:
                alarms = e["alarms"]
                if not isinstance(alarms, dict):
                    raise TypeError("alarms")
                last = _Last(
                    None,
                    str(e["digest"]),
                    tuple(sorted((str(k), bool(v)) for k, v in alarms.items())),
                    float(e["published_at"]),
                )
            except (KeyError, TypeError, ValueError):
                continue
            self._last[str(mid)] = last
        while len(self._last) > self.max_meters:
            self._last.popitem(last=False)
