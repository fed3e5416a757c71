"""The BLE values that carry readings, pure: the 20-byte reading record, the pages of the Meters
characteristic and the Select meter write (docs/ble.md documents each byte).

All multi-byte integers are little-endian (the Bluetooth convention).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from gatewayd.meters.model import Alarms, Reading
from gatewayd.meters.roles import Role
from gatewayd.wmbus.link import bcd_id, id_bytes

# ---- the 20-byte reading record ----

RECORD_VERSION = 0x01
RECORD_SIZE = 20
_RECORD = struct.Struct("<B4sIIHHbbb")
assert _RECORD.size == RECORD_SIZE

NA_U32 = 0xFFFFFFFF
NA_U16 = 0xFFFF
NA_I8 = 0x7F

# Status bit field: bit -> the normalised alarm it carries (reading.alarms[name]).
STATUS_BITS: tuple[tuple[int, str], ...] = (
    (0, "dry"),
    (1, "reverse"),
    (2, "leak"),
    (3, "burst"),
    (4, "tamper"),
)
STATUS_NO_ALARM_INFO = 1 << 15  # the reading carried no alarms object: bits 0-4 mean nothing
# The meter's health when the record is served (not when it was heard): bit 13 silent, bit 14
# never heard; neither = ok.
HEALTH_BITS: tuple[tuple[int, str], ...] = ((13, "silent"), (14, "never_heard"))
_HEALTH_MASK = sum(1 << bit for bit, _name in HEALTH_BITS)
_STATUS_AT = 13  # offset of the status field in the record


@dataclass(frozen=True, slots=True)
class ReadingRecord:
    """One meter's reading as carried in 20 bytes. None = not available."""

    meter_id: str  # 8 digits as in the reading's "id"
    total_l: int | None
    timestamp: int  # Unix seconds; 0 = unknown
    status: int
    flow_lh: int | None
    water_c: int | None
    ambient_c: int | None
    rssi_dbm: int | None


def _u32(v: int | None) -> int:
    return NA_U32 if v is None else v


def _u16(v: int | None) -> int:
    return NA_U16 if v is None else v


def na_i8(v: int | None) -> int:
    return NA_I8 if v is None else v


def encode_record(r: ReadingRecord) -> bytes:
    """The 20-byte record. Raises ValueError on a value that does not fit its field."""
    try:
        return _RECORD.pack(
            RECORD_VERSION,
            id_bytes(r.meter_id),
            _u32(r.total_l),
            r.timestamp,
            r.status,
            _u16(r.flow_lh),
            na_i8(r.water_c),
            na_i8(r.ambient_c),
            na_i8(r.rssi_dbm),
        )
    except struct.error as exc:
        raise ValueError(f"reading record field out of range: {exc}") from exc


def decode_record(data: bytes) -> ReadingRecord:
    """Parse a 20-byte record (what the phone app does). Raises ValueError on a bad record."""
    if len(data) != RECORD_SIZE:
        raise ValueError(f"a reading record is {RECORD_SIZE} bytes, got {len(data)}")
    ver, raw_id, total, ts, status, flow, water, ambient, rssi = _RECORD.unpack(data)
    if ver != RECORD_VERSION:
        raise ValueError(f"unknown reading record version {ver}")
    return ReadingRecord(
        meter_id=bcd_id(raw_id),
        total_l=None if total == NA_U32 else total,
        timestamp=ts,
        status=status,
        flow_lh=None if flow == NA_U16 else flow,
        water_c=None if water == NA_I8 else water,
        ambient_c=None if ambient == NA_I8 else ambient,
        rssi_dbm=None if rssi == NA_I8 else rssi,
    )


def health_bits(state: str | None) -> int:
    """The status bits of a health state ("ok", "silent", "never_heard"; None = ok)."""
    return sum(1 << bit for bit, name in HEALTH_BITS if name == state)


def with_health(record: bytes, state: str | None) -> bytes:
    """The record with its health bits set for `state` (the other status bits kept)."""
    (status,) = struct.unpack_from("<H", record, _STATUS_AT)
    status = (status & ~_HEALTH_MASK) | health_bits(state)
    return record[:_STATUS_AT] + struct.pack("<H", status) + record[_STATUS_AT + 2 :]


def unheard_record(meter_id: str, state: str) -> bytes:
    """The record of a configured meter with no reading yet: every value n/a, time 0."""
    return encode_record(
        ReadingRecord(
            meter_id=meter_id,
            total_l=None,
            timestamp=0,
            status=STATUS_NO_ALARM_INFO | health_bits(state),
            flow_lh=None,
            water_c=None,
            ambient_c=None,
            rssi_dbm=None,
        )
    )


def _scaled(value: float | None, scale: int, top: int) -> int | None:
    """round(value * scale) when it fits 0..top, else None (n/a)."""
    if value is None:
        return None
    v = round(value * scale)
    return v if 0 <= v <= top else None


def whole_int8(value: float | None) -> int | None:
    """A whole °C or dBm in -128..126 (127 is the n/a marker), else None."""
    if value is None:
        return None
    v = round(value)
    return v if -128 <= v <= 126 else None


def _timestamp(epoch: float) -> int:
    ts = int(epoch)
    return ts if 0 <= ts < NA_U32 else 0


def status_bits(alarms: Alarms | None) -> int:
    """The 16-bit status field from a reading's normalised alarm flags."""
    if alarms is None:
        return STATUS_NO_ALARM_INFO
    return sum(1 << bit for bit, name in STATUS_BITS if alarms.get(name) is True)


def record_from_reading(reading: Reading) -> ReadingRecord:
    """Map a reading onto the record: each slot takes the headline value of its role."""
    return ReadingRecord(
        meter_id=reading.id.lower(),
        total_l=_scaled(reading.headline(Role.TOTAL_VOLUME), 1000, NA_U32 - 1),
        timestamp=_timestamp(reading.timestamp),
        status=status_bits(reading.alarms),
        flow_lh=_scaled(reading.headline(Role.VOLUME_FLOW), 1000, NA_U16 - 1),
        water_c=whole_int8(reading.headline(Role.WATER_TEMPERATURE)),
        ambient_c=whole_int8(reading.headline(Role.AMBIENT_TEMPERATURE)),
        rssi_dbm=whole_int8(reading.rssi_dbm),
    )


# ---- Meters: one page of the known meters, read with long reads (Read Blob) ----

MAX_VALUE = 512  # the ATT attribute value limit
METERS_VERSION = 0x01
METERS_PER_PAGE = 25
_METERS_HEADER = struct.Struct("<BHBB")  # version, meters known, page, records in this page
assert _METERS_HEADER.size + METERS_PER_PAGE * RECORD_SIZE <= MAX_VALUE


@dataclass(frozen=True, slots=True)
class MetersPage:
    known: int  # meters the gateway knows in all
    page: int
    records: tuple[bytes, ...]  # 20-byte records, ascending meter id


def page_count(known: int) -> int:
    return max(1, -(-known // METERS_PER_PAGE))


def encode_meters(page: MetersPage) -> bytes:
    if len(page.records) > METERS_PER_PAGE or any(len(r) != RECORD_SIZE for r in page.records):
        raise ValueError("a meters page holds at most 25 records of 20 bytes")
    known = min(page.known, 0xFFFF)
    head = _METERS_HEADER.pack(METERS_VERSION, known, page.page, len(page.records))
    return head + b"".join(page.records)


def decode_meters(data: bytes) -> MetersPage:
    if len(data) < _METERS_HEADER.size:
        raise ValueError("meters value shorter than its header")
    ver, known, page, count = _METERS_HEADER.unpack_from(data)
    if ver != METERS_VERSION:
        raise ValueError(f"unknown meters value version {ver}")
    body = data[_METERS_HEADER.size :]
    if len(body) != count * RECORD_SIZE:
        raise ValueError(f"meters value announces {count} records but holds {len(body)} bytes")
    recs = tuple(body[i : i + RECORD_SIZE] for i in range(0, len(body), RECORD_SIZE))
    return MetersPage(known=known, page=page, records=recs)


# ---- Select meter (write): 4 bytes = a meter id as in the record; 1 byte = a meters page ----


@dataclass(frozen=True, slots=True)
class Selection:
    meter_id: str | None = None
    page: int | None = None


def decode_selection(data: bytes) -> Selection:
    """Raises ValueError on a write that is neither 4 bytes (meter) nor 1 byte (page)."""
    if len(data) == 4:
        return Selection(meter_id=bcd_id(data))
    if len(data) == 1:
        return Selection(page=data[0])
    raise ValueError(f"select meter takes 4 bytes (meter id) or 1 byte (page), got {len(data)}")
