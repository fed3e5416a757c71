"""Per-meter health, pure: each configured meter is `ok`, `silent` or `never_heard`.

No clock of its own and no I/O: the caller passes the time (monotonic seconds) to `heard()`
and `tick()`, and gets back the transitions to log and publish.

- A meter counts as heard by any telegram from its id (decrypted or not): health is about
  the radio link, key problems are reported on their own.
- Threshold: the meter's `silent_after_s`, else `[health] silent_after_s`, else (0 =
  automatic) 4 x its learnt interval and at least `AUTO_MIN_S`; `AUTO_MIN_S` while no interval
  is learnt yet.
- Learnt interval: the median of the last `GAPS_KEPT` gaps between telegrams. Gaps shorter
  than `MIN_GAP_S` (copies from a repeater or a second radio that escaped the dedup) are not
  gaps; a gap that ends a silence is not one either. A few missed telegrams (a gap of 2 or 3
  intervals) do not move the median.
- `never_heard`: not heard at all for the threshold since the watch began (the start, or the
  reload that added the meter). Before that a meter is `ok` with `last_seen` None. Intervals
  learnt by the previous run (`restore()`) count from the start.

Every call is O(1) per telegram; `tick()` is O(meters).
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

AUTO_FACTOR = 4.0
AUTO_MIN_S = 120.0
MIN_GAP_S = 1.0
GAPS_KEPT = 9


class State(enum.StrEnum):
    OK = "ok"
    SILENT = "silent"
    NEVER_HEARD = "never_heard"


class WatchedMeter(Protocol):
    """What the health watch needs of a configured meter (a config's MeterSettings is one)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def silent_after_s(self) -> float | None: ...


class Watched(NamedTuple):  # immutable values: a NamedTuple is defined ~10x faster (start-up)
    """A configured meter as the health watch needs it (built by hand: tests, tools)."""

    id: str
    name: str
    silent_after_s: float | None = None  # None or 0: the default ([health], else automatic)


@dataclass(slots=True)
class MeterHealth:
    id: str
    name: str
    silent_after_s: float | None
    since: float  # monotonic time the watch began (start, or the reload that added it)
    state: State = State.OK
    last_heard: float | None = None  # monotonic
    last_seen: float | None = None  # Unix seconds of the last telegram (for people)
    rssi_dbm: float | None = None
    telegrams: int = 0
    gaps: deque[float] = field(default_factory=lambda: deque(maxlen=GAPS_KEPT))
    interval_s: float | None = None  # the learnt interval: median of `gaps`, None if unknown

    def add_gap(self, gap: float) -> None:
        self.gaps.append(gap)
        ordered = sorted(self.gaps)  # at most GAPS_KEPT items: O(1), once per telegram
        mid = len(ordered) // 2
        self.interval_s = (
            ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
        )


class Transition(NamedTuple):
    meter: MeterHealth
    old: State
    new: State
    quiet_s: float  # how long it had not been heard (since the watch began if never)


class HealthBoard:
    """Every configured meter's health. An entry is built when the meter is first heard, looked
    up, listed or goes silent: until then a meter costs a tuple (a site may configure 10,000
    meters, most of them never heard by this gateway), and it is `ok`, never heard."""

    def __init__(
        self, meters: Iterable[WatchedMeter], now: float, silent_after_s: float = 0.0
    ) -> None:
        self.silent_after_s = silent_after_s
        self._meters: dict[str, MeterHealth | _Unbuilt] = {}
        self._unbuilt = 0  # entries in _meters still an _Unbuilt
        self.reload(meters, now, silent_after_s)

    def __iter__(self) -> Iterator[MeterHealth]:
        return iter(self._built().values())

    def __len__(self) -> int:
        return len(self._meters)

    def get(self, meter_id: str) -> MeterHealth | None:
        m = self._meters.get(meter_id)
        return m if m is None or isinstance(m, MeterHealth) else self._build(meter_id)

    def reload(
        self, meters: Iterable[WatchedMeter], now: float, silent_after_s: float = 0.0
    ) -> list[MeterHealth]:
        """A new set of meters: kept ones keep their history (name and threshold updated),
        new ones start their never-heard wait at `now`. Returns the meters dropped."""
        self.silent_after_s = silent_after_s
        old, self._meters = self._meters, {}
        unbuilt = 0
        for w in meters:
            m = old.pop(w.id, None)
            if isinstance(m, MeterHealth):
                m.name, m.silent_after_s = w.name, w.silent_after_s
                self._meters[w.id] = m
            else:
                self._meters[w.id] = _Unbuilt(w, now if m is None else m.since)
                unbuilt += 1
        self._unbuilt = unbuilt
        return [_as_built(mid, m) for mid, m in old.items()]

    def intervals(self) -> dict[str, float]:
        """Each meter's learnt interval (to keep across restarts)."""
        return {mid: i for mid, m in self._meters.items() if (i := m.interval_s) is not None}

    def restore(self, intervals: Mapping[str, float]) -> None:
        """Intervals learnt by a previous run: a meter starts with that one as its only gap,
        so a slow meter is not called never heard 120 s after a restart."""
        for meter_id, interval in intervals.items():
            m = self.get(meter_id)
            if m is not None and not m.gaps and math.isfinite(interval) and interval >= MIN_GAP_S:
                m.add_gap(float(interval))

    def threshold(self, m: MeterHealth | _Unbuilt) -> float:
        fixed = m.silent_after_s or self.silent_after_s
        if fixed:
            return fixed
        interval = m.interval_s
        return AUTO_MIN_S if interval is None else max(AUTO_MIN_S, AUTO_FACTOR * interval)

    def heard(
        self, meter_id: str, now: float, rssi_dbm: float | None, seen_at: float | None = None
    ) -> Transition | None:
        """A telegram from `meter_id` at monotonic `now` (Unix time `seen_at`). Returns the
        transition back to ok when it was silent or never heard; None for unknown meters."""
        m = self.get(meter_id)
        if m is None:
            return None
        previous = m.last_heard
        if previous is not None and m.state is State.OK and now - previous >= MIN_GAP_S:
            m.add_gap(now - previous)
        if previous is None or now - previous >= MIN_GAP_S:
            m.last_heard = now
        m.last_seen = seen_at if seen_at is not None else m.last_seen
        m.rssi_dbm = rssi_dbm
        m.telegrams += 1
        if m.state is State.OK:
            return None
        old, m.state = m.state, State.OK
        return Transition(m, old, State.OK, now - (previous if previous is not None else m.since))

    def tick(self, now: float) -> list[Transition]:
        """Meters whose threshold has passed become silent / never heard (once each)."""
        out: list[Transition] = []
        for mid, entry in self._meters.items():
            if isinstance(entry, _Unbuilt):  # never heard: only the wait since `since` ends
                if now - entry.since < self.threshold(entry):
                    continue
                m = self._build(mid)
            elif entry.state is not State.OK:
                continue
            else:
                m = entry
            ref = m.since if m.last_heard is None else m.last_heard
            if now - ref < self.threshold(m):
                continue
            m.state = State.NEVER_HEARD if m.last_heard is None else State.SILENT
            out.append(Transition(m, State.OK, m.state, now - ref))
        return out

    def counts(self) -> dict[str, int]:
        """Meters by state: {"ok": n, "silent": n, "never_heard": n}."""
        out = dict.fromkeys((s.value for s in State), 0)
        out[State.OK.value] = self._unbuilt  # never heard, still waiting
        for m in self._meters.values():
            if isinstance(m, MeterHealth):
                out[m.state.value] += 1
        return out

    def _build(self, meter_id: str) -> MeterHealth:
        u = self._meters[meter_id]
        if isinstance(u, MeterHealth):
            return u
        m = _as_built(meter_id, u)
        self._meters[meter_id] = m  # same key: the order of the meters stays the config's
        self._unbuilt -= 1
        return m

    def _built(self) -> dict[str, MeterHealth]:
        if self._unbuilt:
            for meter_id in [k for k, m in self._meters.items() if isinstance(m, _Unbuilt)]:
                self._build(meter_id)
        return self._meters  # type: ignore[return-value]  # every entry built now


class _Unbuilt(NamedTuple):
    """A configured meter not heard, looked up or silent yet (what its entry is built from)."""

    watched: WatchedMeter
    since: float

    @property
    def silent_after_s(self) -> float | None:
        return self.watched.silent_after_s

    @property
    def interval_s(self) -> None:
        return None


def _as_built(meter_id: str, m: MeterHealth | _Unbuilt) -> MeterHealth:
    if isinstance(m, MeterHealth):
        return m
    w = m.watched
    return MeterHealth(meter_id, w.name, w.silent_after_s, since=m.since)
