"""Publish policy: publish a meter's reading when a value or an alarm changed,
and at least every `heartbeat_s`; an alarm change is published at once and flagged.

Pure: the clock is injected (Unix seconds, so a persisted state stays meaningful after a
restart) and the memory is bounded (least recently heard meters dropped first).
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gatewayd.meters.model import NO_ALARMS, Identity, Reading
from gatewayd.wmbus.records import Record


@dataclass(frozen=True, slots=True)
class Decision:
    publish: bool
    alarm_changed: bool
    reason: str  # first | changed | alarm | heartbeat | unchanged


# Every decision there is (frozen: shared, not made per reading)
FIRST = Decision(True, False, "first")
FIRST_ALARM = Decision(True, True, "first")
ALARM = Decision(True, True, "alarm")
CHANGED = Decision(True, False, "changed")
HEARTBEAT = Decision(True, False, "heartbeat")
UNCHANGED = Decision(False, False, "unchanged")

Values = tuple[object, ...]
AlarmState = tuple[tuple[str, bool], ...]
# What values_of() is made from: identity, name, named fields, static fields, records, warnings
_Parts = tuple[Identity, str | None, Mapping[str, object], tuple[object, ...], tuple[Record, ...],
               tuple[str, ...]]  # fmt: skip


def values_of(reading: Reading) -> Values:
    """What must change for a reading to count as new: identity, named fields, records.

    Reception time and RSSI change on every telegram without the meter's values changing. The
    named fields are compared by name, not by position (a restored meter memory may list them
    in another order).
    """
    return _values(_parts(reading))


def _parts(r: Reading) -> _Parts:
    return (r.identity, r.name, r.values, r.static, r.records, r.warnings)


def _values(p: _Parts) -> Values:
    ident, name, named, static, records, warnings = p
    return (ident, name, named, static, tuple([(r.header.difvif, r.value) for r in records]),
            warnings)  # fmt: skip


# The digest in a persisted entry: 2, canonical (digest()); 1 (the entry says no version),
# repr() of the values as they were, which told 1 from 1.0 and 0.0 from -0.0 (legacy_digest())
DIGEST_VERSION = 2


class _NoEqual(Exception):
    """A value that is == to nothing (NaN)."""


def _canon(v: object) -> object:
    """v, so that two values (numbers, text, None) have the same repr() exactly when they are
    ==: an integral float as the int it equals (1.0 as 1, -0.0 as 0), True and False as 1, 0."""
    if isinstance(v, float):
        if v.is_integer():
            return int(v)
        if math.isnan(v):
            raise _NoEqual
        return v
    if isinstance(v, int):
        return int(v)
    return v


def digest(values: Values) -> str:
    """A stable digest of values (for the persisted memory: survives a restart), the same for
    two values_of() exactly when they are ==: the named fields in name order, each value by
    _canon(); values holding a NaN get a digest of their own, as == finds them changed."""
    ident, name, named, static, recs, warnings = values
    assert isinstance(named, Mapping)
    assert isinstance(static, tuple) and isinstance(recs, tuple)
    try:
        canon = (ident, name, sorted([(k, _canon(v)) for k, v in named.items()]),
                 tuple([(k, _canon(v)) for k, v in static]),
                 tuple([(h, _canon(v)) for h, v in recs]), warnings)  # fmt: skip
    except _NoEqual:
        return os.urandom(16).hex()
    return hashlib.blake2b(repr(canon).encode(), digest_size=16).hexdigest()


def legacy_digest(values: Values) -> str:
    """The digest of DIGEST_VERSION 1: an entry saved by the previous release compares so."""
    ident, name, named, static, recs, warnings = values
    assert isinstance(named, Mapping)
    canon = (ident, name, sorted(named.items()), static, recs, warnings)
    return hashlib.blake2b(repr(canon).encode(), digest_size=16).hexdigest()


def alarm_state(reading: Reading) -> AlarmState:
    """The alarm flags by name (a restored memory may list them in another order)."""
    return tuple(sorted(reading.alarms.items())) if reading.alarms is not None else ()


def _same_values(p: _Parts, r: Reading) -> bool:
    """values_of(reading) == _values(p), compared field by field without building either:
    the named fields first (what changes most), the records' header bytes and values last."""
    if not (p[2] == r.values and p[1] == r.name and (p[0] is r.identity or p[0] == r.identity)):
        return False
    if p[3] != r.static or p[5] != r.warnings:
        return False
    old, new = p[4], r.records
    if old is new:
        return True
    if len(old) != len(new):
        return False
    # as comparing the tuples of (difvif, value): element by element, an object equal to itself
    return [o.value for o in old] == [n.value for n in new] and [o.header.difvif for o in old] == [
        n.header.difvif for n in new
    ]


@dataclass(slots=True)
class _Last:
    parts: _Parts | None  # None after a restore, until the first comparison
    digest: str | None  # set after a restore, or computed for a snapshot
    alarms: Mapping[str, bool]  # compared as a dict: by name, whatever the order
    published_at: float
    legacy: bool = False  # digest is a legacy_digest() (restored from an entry of version 1)

    def same_values(self, reading: Reading) -> bool:
        if self.parts is not None:
            return _same_values(self.parts, reading)
        parts = _parts(reading)
        same = self.digest == (legacy_digest if self.legacy else digest)(_values(parts))
        if same:
            self.parts = parts
            if self.legacy:  # a snapshot writes the digest of this version
                self.digest, self.legacy = None, False
        return same

    def stable_digest(self) -> str:
        if self.digest is None:
            assert self.parts is not None
            self.digest = digest(_values(self.parts))
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
        alarms = reading.alarms
        if alarms is None:
            alarms = NO_ALARMS  # as no flags: alarm_state() is () for both
        last = self._last.get(meter_id)
        if last is None:
            decision = FIRST_ALARM if any(alarms.values()) else FIRST
            self._last[meter_id] = _Last(_parts(reading), None, alarms, now)
            while len(self._last) > self.max_meters:
                self._last.popitem(last=False)
            return decision
        if alarms != last.alarms:
            decision = ALARM
        elif not last.same_values(reading):
            decision = CHANGED
        elif now - last.published_at >= self.heartbeat_s:
            decision = HEARTBEAT
        else:
            decision = UNCHANGED
        if decision.publish:  # the same entry, remembering this reading
            last.parts = _parts(reading)
            last.digest, last.legacy = None, False
            last.alarms = alarms
            last.published_at = now
        self._last.move_to_end(meter_id)
        return decision

    def forget(self, meter_id: str) -> None:
        self._last.pop(meter_id, None)

    # ---- persistence (JSON-serialisable)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {
            mid: {
                "digest": e.stable_digest(),
                "digest_version": 1 if e.legacy else DIGEST_VERSION,  # restored, not heard since
                "alarms": dict(sorted(e.alarms.items())),
                "published_at": e.published_at,
            }
            for mid, e in self._last.items()
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Load a snapshot (of this release or the previous one: its entries have no
        digest_version); entries that are not well-formed, or newer, are skipped."""
        for mid, e in data.items():
            try:
                alarms = e["alarms"]
                if not isinstance(alarms, dict):
                    raise TypeError("alarms")
                version = e.get("digest_version", 1)
                if version not in (1, DIGEST_VERSION):
                    raise ValueError("digest_version")
                last = _Last(
                    None,
                    str(e["digest"]),
                    {str(k): bool(v) for k, v in alarms.items()},
                    float(e["published_at"]),
                    legacy=version == 1,
                )
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
            self._last[str(mid)] = last
        while len(self._last) > self.max_meters:
            self._last.popitem(last=False)
