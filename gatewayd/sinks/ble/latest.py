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
    """Latest 20-byte record per meter, plus the per-device state of the GATT conversation."""

    def __init__(self) -> None:
        self._records: dict[str, bytes] = {}
        self._last: bytes = b""
        self._selected: _Bounded = _Bounded()  # device -> meter id
        self._page: _Bounded = _Bounded()  # device -> meters page
        self._snapshots: _Bounded = _Bounded()  # "char|device" -> bytes

    @property
    def known(self) -> int:
        return len(self._records)

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
            if sel.meter_id not in self._records:
                raise NotSelectable(f"meter {sel.meter_id} has not been heard")
            self._selected.put(device, sel.meter_id)
        elif sel.page is not None:
            if sel.page >= gatt.page_count(self.known):
                raise NotSelectable(f"page {sel.page} is past the last page")
            self._page.put(device, sel.page)
        return sel

    def reading_value(self, device: str) -> bytes:
        """The selected meter's record, else the latest published one, else empty."""
        meter = self._selected.get(device)
        if meter is not None and meter in self._records:
            return self._records[meter]
        return self._last

    def meters_value(self, device: str) -> bytes:
        ids = sorted(self._records)
        page = min(self._page.get(device, 0), gatt.page_count(len(ids)) - 1)
        start = page * gatt.METERS_PER_PAGE
        recs = tuple(self._records[i] for i in ids[start : start + gatt.METERS_PER_PAGE])
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
