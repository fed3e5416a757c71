"""What the GATT server serves, pure: each meter's latest record, each phone's selection, and the
snapshots that keep a long read consistent while new readings arrive.

BlueZ serves a long read (ATT Read Blob) as several ReadValue calls with growing offsets. The
value is built once at offset 0 and later offsets are cut from that snapshot, so a reading
published between two blobs cannot tear the value. Selections and snapshots are kept per
connected device (BlueZ's "device" option), bounded so that passing phones cannot grow them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from gatewayd.meters.model import Reading
from gatewayd.sinks.base import HealthSource
from gatewayd.sinks.ble import gatt

MAX_DEVICES = 16


class InvalidOffset(ValueError):
    """A read offset beyond the end of the value (BlueZ: org.bluez.Error.InvalidOffset)."""


class InvalidLength(ValueError):
    """A Select meter write of the wrong size (BlueZ: org.bluez.Error.InvalidValueLength)."""


class NotSelectable(ValueError):
    """Select meter named a meter not heard yet, or a page past the last one."""


class _Bounded(OrderedDict[str, Any]):
    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > MAX_DEVICES:
            self.popitem(last=False)


class LatestReadings:
    """Latest 20-byte record per meter, plus the per-device state of the GATT conversation.

    With a health source (the daemon's per-meter health), every record is served with its
    meter's health bits as they are at the read, and each configured meter without a reading
    yet is listed in Meters with an all-n/a record."""

    def __init__(self) -> None:
        self.health_source: HealthSource | None = None
        self._records: dict[str, bytes] = {}
        self._last: bytes = b""
        self._selected: _Bounded = _Bounded()  # device -> meter id
        self._page: _Bounded = _Bounded()  # device -> meters page
        self._snapshots: _Bounded = _Bounded()  # "char|device" -> bytes

    @property
    def known(self) -> int:
        return len(self._listed())

    def _health(self) -> dict[str, str]:
        """Meter id -> health state now ({} without a health source)."""
        if self.health_source is None:
            return {}
        return {r.id.lower(): r.state for r in self.health_source()}

    def _listed(self, health: dict[str, str] | None = None) -> dict[str, bytes]:
        """Every meter Meters lists: id -> its record with the health bits of now."""
        health = self._health() if health is None else health
        if not health:
            return self._records
        out = {i: gatt.with_health(rec, health.get(i)) for i, rec in self._records.items()}
        for meter_id, state in health.items():
            if meter_id not in out:
                out[meter_id] = gatt.unheard_record(meter_id, state)
        return out

    def update(self, reading: Reading) -> bytes:
        """Store a published reading; returns its record. Raises ValueError when a value does
        not fit the record."""
        rec = gatt.encode_record(gatt.record_from_reading(reading))
        self._records[reading.id.lower()] = rec
        self._last = rec
        return rec

    def select(self, device: str, value: bytes) -> gatt.Selection:
        """Apply a Select meter write. Raises InvalidLength or NotSelectable."""
        try:
            sel = gatt.decode_selection(value)
        except ValueError as exc:
            raise InvalidLength(str(exc)) from None
        if sel.meter_id is not None:
            if sel.meter_id not in self._records and sel.meter_id not in self._health():
                raise NotSelectable(f"meter {sel.meter_id} is neither configured nor heard")
            self._selected.put(device, sel.meter_id)
        elif sel.page is not None:
            if sel.page >= gatt.page_count(self.known):
                raise NotSelectable(f"page {sel.page} is past the last page")
            self._page.put(device, sel.page)
        return sel

    def reading_value(self, device: str) -> bytes:
        """The selected meter's record (with its health bits), else the latest published one,
        else empty."""
        meter = self._selected.get(device)
        if meter is not None and meter not in self._records:
            listed = self._listed()  # a configured meter not heard yet: its n/a record
            return listed.get(meter, self._last)
        record = self._records.get(meter, self._last) if meter is not None else self._last
        if not record or self.health_source is None:
            return record
        return gatt.with_health(record, self._health().get(gatt.decode_record(record).meter_id))

    def meters_value(self, device: str) -> bytes:
        listed = self._listed()
        ids = sorted(listed)
        page = min(self._page.get(device, 0), gatt.page_count(len(ids)) - 1)
        start = page * gatt.METERS_PER_PAGE
        recs = tuple(listed[i] for i in ids[start : start + gatt.METERS_PER_PAGE])
        return gatt.encode_meters(gatt.MetersPage(known=len(ids), page=page, records=recs))

    def read(self, char: str, device: str, offset: int, build: Callable[[], bytes]) -> bytes:
        """value[offset:], the value built at offset 0 and reused for the later blobs."""
        key = f"{char}|{device}"
        value: bytes | None = self._snapshots.get(key)
        if offset == 0 or value is None:
            value = build()
            self._snapshots.put(key, value)
        if offset > len(value):
            raise InvalidOffset(f"offset {offset} beyond the {len(value)}-byte value")
        return value[offset:]
