"""The BLE GATT contract, pure: UUIDs, characteristic flags, advertising, and (re-exported from
records.py and telemetry.py) every value's byte layout.

Nothing here touches D-Bus. `docs/ble.md` documents each layout byte by byte for the phone
app; its worked examples are checked against these encoders by the tests. All multi-byte
integers are little-endian (the Bluetooth convention).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gatewayd.config.sections import BleSecurity as Security
from gatewayd.sinks.ble.records import (
    HEALTH_BITS,
    METERS_PER_PAGE,
    NA_I8,
    NA_U16,
    NA_U32,
    RECORD_SIZE,
    RECORD_VERSION,
    STATUS_BITS,
    STATUS_NO_ALARM_INFO,
    MetersPage,
    ReadingRecord,
    Selection,
    decode_meters,
    decode_record,
    decode_selection,
    encode_meters,
    encode_record,
    health_bits,
    page_count,
    record_from_reading,
    status_bits,
    unheard_record,
    with_health,
)
from gatewayd.sinks.ble.telemetry import (
    FRAGMENT_SIZE,
    HEALTH_STATES,
    RADIO_STATES,
    STATUS_COUNTERS,
    StatusValue,
    decode_status,
    encode_status,
    join_fragments,
    raw_fragments,
    status_from_stats,
)

__all__ = [
    "CHARACTERISTICS", "FRAGMENT_SIZE", "HEALTH_BITS", "HEALTH_STATES", "METERS", "METERS_PER_PAGE",
    "NA_I8", "NA_U16", "NA_U32", "RADIO_STATES", "RAW_TELEGRAMS", "READING", "RECORD_SIZE",
    "RECORD_VERSION", "SELECT_METER", "SERVICE_UUID", "STATUS", "STATUS_BITS", "STATUS_COUNTERS",
    "STATUS_NO_ALARM_INFO", "CharSpec", "MetersPage", "ReadingRecord", "Security", "Selection",
    "StatusValue", "advertising_data", "char_flags", "decode_meters", "decode_record",
    "decode_selection", "decode_status", "encode_meters", "encode_record", "encode_status",
    "fit_name", "health_bits", "join_fragments", "local_name", "page_count", "raw_fragments",
    "record_from_reading", "status_bits", "status_from_stats", "unheard_record", "with_health",
]  # fmt: skip

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
# "read"/"write"/"notify" would let an unbonded phone in. "authenticated" uses BlueZ's secure-*
# flags: they need a link at the kernel's FIPS level, i.e. a bond made with LE Secure
# Connections and passkey entry. encrypt-authenticated-* would also accept a legacy-pairing
# passkey bond, whose key a sniffed pairing gives away.
SECURITY_FLAGS: Mapping[Security, Mapping[str, str]] = {
    "authenticated": {
        "read": "secure-read",
        "write": "secure-write",
        "notify": "secure-notify",
    },
    "encrypted": {"read": "encrypt-read", "write": "encrypt-write", "notify": "encrypt-notify"},
}


def char_flags(spec: CharSpec, security: Security) -> list[str]:
    """The BlueZ `Flags` of a characteristic at the given security level."""
    return [SECURITY_FLAGS[security][a] for a in spec.access]


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
