"""The BLE GATT contract, pure: UUIDs, characteristic flags and every value's byte layout.

Nothing here touches D-Bus. `docs/ble.md` documents each layout byte by byte for the phone
app; its worked examples are checked against these encoders by the tests. All multi-byte
integers are little-endian (the Bluetooth convention).
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from gatewayd.config.sections import BleSecurity as Security
from gatewayd.wmbus.link import bcd_id, id_bytes

# ---- UUIDs: one random 128-bit base (never a Bluetooth SIG one); bytes 2-3 number the items ----

UUID_TEMPLATE = "0f7d{:04x}-77d0-4fa4-b7d9-101c1e9376a1"


def _uuid(slot: int) -> str:
    return UUID_TEMPLATE.format(slot)


SERVICE_UUID = _uuid(0x0001)


@dataclass(frozen=True, slots=True)
class CharSpec:
    """One characteristic of the service: its name, UUID and what a client may do with it."""

    name: str
    uuid: str
    access: tuple[Literal["read", "write", "notify"], ...]


METERS = CharSpec("meters", _uuid(0x0002), ("read",))
READING = CharSpec("reading", _uuid(0x0003), ("read", "notify"))
SELECT_METER = CharSpec("select_meter", _uuid(0x0004), ("write",))
RAW_TELEGRAMS = CharSpec("raw_telegrams", _uuid(0x0005), ("notify",))
STATUS = CharSpec("status", _uuid(0x0006), ("read",))
CHARACTERISTICS: tuple[CharSpec, ...] = (METERS, READING, SELECT_METER, RAW_TELEGRAMS, STATUS)

# BlueZ characteristic flags per access and security level. Only secured flags: a plain
# "read"/"write"/"notify" would let an unbonded phone in.
SECURITY_FLAGS: Mapping[Security, Mapping[str, str]] = {
    "authenticated": {
        "read": "encrypt-authenticated-read",
        "write": "encrypt-authenticated-write",
        "notify": "encrypt-authenticated-notify",
    },
    "encrypted": {"read": "encrypt-read", "write": "encrypt-write", "notify": "encrypt-notify"},
}


def char_flags(spec: CharSpec, security: Security) -> list[str]:
    """The BlueZ `Flags` of a characteristic at the given security level."""
    return [SECURITY_FLAGS[security][a] for a in spec.access]


# ---- the 20-byte reading record (PROTOCOL.md §8) ----

RECORD_VERSION = 0x01
RECORD_SIZE = 20
_RECORD = struct.Struct("<B4sIIHHbbb")
assert _RECORD.size == RECORD_SIZE

NA_U32 = 0xFFFFFFFF
NA_U16 = 0xFFFF
NA_I8 = 0x7F

# Status bit field: bit -> the normalised alarm it carries (reading["alarms"][name]).
STATUS_BITS: tuple[tuple[int, str], ...] = (
    (0, "dry"),
    (1, "reverse"),
    (2, "leak"),
    (3, "burst"),
    (4, "tamper"),
)
STATUS_NO_ALARM_INFO = 1 << 15  # the reading carried no alarms object: bits 0-4 mean nothing

# Reading fields, first present wins (wmbusmeters names).
VOLUME_FIELDS_M3 = ("total_m3", "total_volume_m3")
FLOW_FIELDS_M3H = (
    "flow_m3h",
    "volume_flow_m3h",
    "current_volume_flow_m3h",
    "current_flow_m3h",
    "flow_water_m3h",
)
WATER_TEMPERATURE_FIELDS = (
    "flow_temperature_c",
    "water_temperature_c",
    "min_flow_temperature_c",
    "max_flow_temperature_c",
)
AMBIENT_TEMPERATURE_FIELDS = (
    "external_temperature_c",
    "ambient_temperature_c",
    "current_temperature_c",
    "min_external_temperature_c",
    "min_external_temperature_last_day_c",
    "min_external_temperature_last_month_c",
    "max_external_temperature_c",
    "average_ambient_temperature_c",
    "max_ambient_temperature_c",
)
# A bare "temperature_c" is the water's on a water meter and the air's on anything else.
PLAIN_TEMPERATURE_FIELD = "temperature_c"


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


def _i8(v: int | None) -> int:
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
            _i8(r.water_c),
            _i8(r.ambient_c),
            _i8(r.rssi_dbm),
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


def _number(reading: Mapping[str, Any], fields: Sequence[str]) -> float | None:
    for f in fields:
        v = reading.get(f)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return float(v)
    return None


def _scaled(value: float | None, scale: int, top: int) -> int | None:
    """round(value * scale) when it fits 0..top, else None (n/a)."""
    if value is None:
        return None
    v = round(value * scale)
    return v if 0 <= v <= top else None


def _int8(value: float | None) -> int | None:
    """A whole °C or dBm in -128..126 (127 is the n/a marker), else None."""
    if value is None:
        return None
    v = round(value)
    return v if -128 <= v <= 126 else None


def _timestamp(value: Any) -> int:
    if not isinstance(value, str):
        return 0
    try:
        ts = int(datetime.fromisoformat(value).timestamp())
    except ValueError:
        return 0
    return ts if 0 <= ts < NA_U32 else 0


def status_bits(alarms: Any) -> int:
    """The 16-bit status field from a reading's normalised "alarms" object."""
    if not isinstance(alarms, Mapping):
        return STATUS_NO_ALARM_INFO
    return sum(1 << bit for bit, name in STATUS_BITS if alarms.get(name) is True)


def record_from_reading(reading: Mapping[str, Any]) -> ReadingRecord:
    """Map a reading (DESIGN.md §4.2) onto the record. Raises ValueError without a valid id."""
    meter_id = reading.get("id")
    if not isinstance(meter_id, str) or len(meter_id) != 8:
        raise ValueError(f"reading has no 8-digit meter id: {meter_id!r}")
    try:
        id_bytes(meter_id)
    except ValueError as exc:
        raise ValueError(f"meter id is not 8 hex digits: {meter_id!r}") from exc
    water_fields: tuple[str, ...] = WATER_TEMPERATURE_FIELDS
    ambient_fields: tuple[str, ...] = AMBIENT_TEMPERATURE_FIELDS
    if "water" in str(reading.get("media", "")):
        water_fields += (PLAIN_TEMPERATURE_FIELD,)
    else:
        ambient_fields += (PLAIN_TEMPERATURE_FIELD,)
    return ReadingRecord(
        meter_id=meter_id.lower(),
        total_l=_scaled(_number(reading, VOLUME_FIELDS_M3), 1000, NA_U32 - 1),
        timestamp=_timestamp(reading.get("timestamp")),
        status=status_bits(reading.get("alarms")),
        flow_lh=_scaled(_number(reading, FLOW_FIELDS_M3H), 1000, NA_U16 - 1),
        water_c=_int8(_number(reading, water_fields)),
        ambient_c=_int8(_number(reading, ambient_fields)),
        rssi_dbm=_int8(_number(reading, ("rssi_dbm",))),
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


# ---- Raw telegrams (notify): each telegram cut into 20-byte fragments ----

FRAGMENT_SIZE = 20
FRAGMENT_LAST = 0x80


def raw_fragments(seq: int, frame: bytes, rssi_dbm: float | None) -> list[bytes]:
    """Fragments of one telegram: [seq][index | 0x80 on the last] + payload (<= 18 bytes).

    The payload of all fragments joined is [RSSI int8 (0x7F = n/a)] + the telegram.
    """
    rssi = _int8(rssi_dbm)
    payload = struct.pack("<b", _i8(rssi)) + frame
    step = FRAGMENT_SIZE - 2
    chunks = [payload[i : i + step] for i in range(0, len(payload), step)]
    if len(chunks) > 0x7F:
        raise ValueError(f"telegram of {len(frame)} bytes needs more than 127 fragments")
    last = len(chunks) - 1
    return [
        bytes((seq & 0xFF, i | (FRAGMENT_LAST if i == last else 0))) + c
        for i, c in enumerate(chunks)
    ]


def join_fragments(fragments: Sequence[bytes]) -> tuple[int, int | None, bytes]:
    """(seq, rssi, telegram) from one telegram's fragments in order; ValueError if broken."""
    if not fragments:
        raise ValueError("no fragments")
    seq = fragments[0][0]
    for i, f in enumerate(fragments):
        last = i == len(fragments) - 1
        if f[0] != seq or f[1] != (i | (FRAGMENT_LAST if last else 0)):
            raise ValueError(f"fragment {i} out of order or from another telegram")
    payload = b"".join(f[2:] for f in fragments)
    rssi = struct.unpack_from("<b", payload)[0]
    return seq, None if rssi == NA_I8 else rssi, payload[1:]


# ---- Status (read) ----

STATUS_VERSION = 0x01
RADIO_STATES: Mapping[str, int] = {"unknown": 0, "up": 1, "down": 2, "reconnecting": 3}
# Counters from the daemon's stats, in value order; a missing one is sent as 0xFFFFFFFF.
STATUS_COUNTERS = (
    "frames",
    "bad_crc",
    "duplicates",
    "no_key",
    "wrong_key",
    "format_unknown",
    "decoded",
    "published",
)
_STATUS_HEAD = struct.Struct("<BBBBIBH")  # version, sw major/minor/patch, uptime, radio, meters


@dataclass(frozen=True, slots=True)
class StatusValue:
    software: tuple[int, int, int]
    uptime_s: int
    radio_state: str
    meters_known: int
    counters: Mapping[str, int | None]


def _version_tuple(text: str) -> tuple[int, int, int]:
    parts = [int(p) if p.isdigit() else 0 for p in text.split(".")[:3]]
    parts += [0] * (3 - len(parts))
    return (min(parts[0], 255), min(parts[1], 255), min(parts[2], 255))


def status_from_stats(
    software: str, uptime_s: float, meters_known: int, stats: Mapping[str, Any]
) -> StatusValue:
    radio = stats.get("radio_state")
    counters: dict[str, int | None] = {}
    for name in STATUS_COUNTERS:
        v = stats.get(name)
        counters[name] = v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None
    return StatusValue(
        software=_version_tuple(software),
        uptime_s=max(0, int(uptime_s)),
        radio_state=radio if isinstance(radio, str) and radio in RADIO_STATES else "unknown",
        meters_known=meters_known,
        counters=counters,
    )


def encode_status(s: StatusValue) -> bytes:
    head = _STATUS_HEAD.pack(
        STATUS_VERSION,
        *s.software,
        min(s.uptime_s, NA_U32 - 1),
        RADIO_STATES[s.radio_state],
        min(s.meters_known, 0xFFFF),
    )
    body = b"".join(
        struct.pack("<I", NA_U32 if (v := s.counters.get(n)) is None else min(v, NA_U32 - 1))
        for n in STATUS_COUNTERS
    )
    return head + body


def decode_status(data: bytes) -> StatusValue:
    want = _STATUS_HEAD.size + 4 * len(STATUS_COUNTERS)
    if len(data) < want:
        raise ValueError(f"status value is at least {want} bytes, got {len(data)}")
    ver, major, minor, patch, uptime, radio, meters = _STATUS_HEAD.unpack_from(data)
    if ver != STATUS_VERSION:
        raise ValueError(f"unknown status version {ver}")
    states = {v: k for k, v in RADIO_STATES.items()}
    values = struct.unpack_from(f"<{len(STATUS_COUNTERS)}I", data, _STATUS_HEAD.size)
    return StatusValue(
        software=(major, minor, patch),
        uptime_s=uptime,
        radio_state=states.get(radio, "unknown"),
        meters_known=meters,
        counters={
            n: None if v == NA_U32 else v for n, v in zip(STATUS_COUNTERS, values, strict=True)
        },
    )


# ---- Advertising (legacy, 31 bytes) ----

ADV_LEGACY_MAX = 31
NAME_PREFIX = "MS-"
_AD_FLAGS = bytes((2, 0x01, 0x06))  # LE General Discoverable, BR/EDR not supported


def _uuid_ad(uuid_text: str) -> bytes:
    return bytes((17, 0x07)) + uuid.UUID(uuid_text).bytes[::-1]


def fit_name(name: str) -> str:
    """`name` cut so that flags + service UUID + name fit 31 bytes (8 bytes of name)."""
    room = ADV_LEGACY_MAX - len(_AD_FLAGS) - len(_uuid_ad(SERVICE_UUID)) - 2
    while len(name.encode()) > room:
        name = name[:-1]
    return name


def local_name(gateway_id: str) -> str:
    """The advertised name: `MS-<gateway id>`, cut to fit."""
    return fit_name(NAME_PREFIX + gateway_id)


def advertising_data(name: str, service_uuid: str = SERVICE_UUID) -> bytes:
    """The legacy advertising payload BlueZ builds from our LEAdvertisement1 (for size checks)."""
    encoded = name.encode()
    return _AD_FLAGS + _uuid_ad(service_uuid) + bytes((len(encoded) + 1, 0x09)) + encoded
