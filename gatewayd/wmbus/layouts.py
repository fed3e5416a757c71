"""A meter's record layout, kept: its next telegram's records are read without scanning.

A meter sends the same application layer layout over and over: the same record headers at
the same offsets, fillers in the same places, only the data changing. After one scan by
records.parse_records, the layout is kept per (meter id, length); the next application layer
of that meter and length whose structural bytes (every header's bytes, every filler, the
special DIF that ends the records) are those of the layout is read by slicing the data out and
decoding it. The scan reads nothing else: the same bytes give the same records, so the
outcome is parse_records(strict=False)'s. Anything else (another layout, a variable-length
record, a walk that stopped at an error, a value reader that raises) is scanned as before.
"""

from __future__ import annotations

from gatewayd.wmbus.frozen import slot_setters
from gatewayd.wmbus.records import (
    FILLER,
    MORE_FOLLOWS,
    HeaderCache,
    Record,
    RecordHeader,
    Records,
    parse_records,
)
from gatewayd.wmbus.values import Reader

# (header start, data start, data end, header bytes, header, value reader)
_Step = tuple[int, int, int, bytes, RecordHeader, Reader]
# (length, filler runs (start, end, their bytes), steps, the special DIF (offset, byte) or None)
Layout = tuple[int, tuple[tuple[int, int, bytes], ...], tuple[_Step, ...], tuple[int, int] | None]


class LayoutCache:
    """Record layouts by (meter id, application layer length), at most `max_entries` (emptied
    when full). The decoder owns one, beside its HeaderCache."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._layouts: dict[tuple[str | None, int], Layout] = {}

    def __len__(self) -> int:
        return len(self._layouts)

    def parse(self, apl: bytes, meter_id: str | None, cache: HeaderCache) -> Records:
        """parse_records(apl, meter_id, strict=False, cache=cache), by the meter's kept layout
        when the bytes fit it."""
        key = (meter_id, len(apl))
        layout = self._layouts.get(key)
        if layout is not None:
            try:
                done = _replay(apl, layout)
            except Exception:  # a value reader's error: the scan says what it means
                done = None
            if done is not None:
                return done
        parsed = parse_records(apl, meter_id, strict=False, cache=cache)
        made = layout_of(apl, parsed, cache)
        if made is not None:
            if len(self._layouts) >= self.max_entries:
                self._layouts.clear()
            self._layouts[key] = made
        return parsed


def layout_of(apl: bytes, parsed: Records, cache: HeaderCache) -> Layout | None:
    """The layout a scan of `apl` found (None: one not to keep)."""
    if parsed.error is not None:
        return None
    n = len(apl)
    pos = 0
    fills: list[tuple[int, int, bytes]] = []
    steps: list[_Step] = []
    for rec in parsed.records:
        start = pos
        while pos < n and apl[pos] == FILLER:
            pos += 1
        if pos > start:
            fills.append((start, pos, apl[start:pos]))
        h = rec.header
        hb = h.difvif
        end = pos + len(hb)
        _, size, reader = cache.entry(hb)
        if size < 0 or apl[pos:end] != hb or apl[end : end + size] != rec.raw:
            return None  # variable length, or not what the scan read
        steps.append((pos, end, end + size, hb, h, reader))
        pos = end + size
    start = pos
    while pos < n and apl[pos] == FILLER:
        pos += 1
    if pos > start:
        fills.append((start, pos, apl[start:pos]))
    tail: tuple[int, int] | None = None
    if parsed.manufacturer_data is not None:
        if pos >= n or apl[pos + 1 :] != parsed.manufacturer_data:
            return None
        tail = (pos, apl[pos])
    elif pos != n:
        return None
    return n, tuple(fills), tuple(steps), tail


def _replay(apl: bytes, layout: Layout) -> Records | None:
    n, fills, steps, tail = layout
    if len(apl) != n:
        return None
    for start, end, filler in fills:
        if apl[start:end] != filler:
            return None
    out = []
    for start, end, stop, hb, header, reader in steps:
        if apl[start:end] != hb:
            return None
        raw = apl[end:stop]
        rec = _new(Record)  # Record(header, value, raw), field by field (frozen.py)
        _r_header(rec, header)
        _r_value(rec, reader(raw))
        _r_raw(rec, raw)
        out.append(rec)
    if tail is None:
        return Records(tuple(out))
    at, dif = tail
    if apl[at] != dif:
        return None
    return Records(tuple(out), apl[at + 1 :], dif == MORE_FOLLOWS)


_new = object.__new__
_r_header, _r_value, _r_raw = slot_setters(Record, "header", "value", "raw")
