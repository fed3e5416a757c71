"""The BLE values about the gateway itself, pure: raw telegram fragments and the Status value
(docs/ble.md documents each byte). All multi-byte integers are little-endian.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gatewayd.sinks.ble.records import NA_I8, NA_U16, NA_U32, na_i8, whole_int8

# ---- Raw telegrams (notify): each telegram cut into 20-byte fragments ----

FRAGMENT_SIZE = 20
FRAGMENT_LAST = 0x80


def raw_fragments(seq: int, frame: bytes, rssi_dbm: float | None) -> list[bytes]:
    """Fragments of one telegram: [seq][index | 0x80 on the last] + payload (<= 18 bytes).

    The payload of all fragments joined is [RSSI int8 (0x7F = n/a)] + the telegram.
    """
    rssi = whole_int8(rssi_dbm)
    payload = struct.pack("<b", na_i8(rssi)) + frame
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
# After the counters: configured meters by health state (uint16 each, 0xFFFF = not reported),
# then the radio's status text: uint8 length + UTF-8 (cut at a character boundary).
HEALTH_STATES = ("ok", "silent", "never_heard")
RADIO_TEXT_MAX = 200


@dataclass(frozen=True, slots=True)
class StatusValue:
    software: tuple[int, int, int]
    uptime_s: int
    radio_state: str
    meters_known: int
    counters: Mapping[str, int | None]
    health: Mapping[str, int | None] | None = None  # meters by state; None: not in the value
    radio_status: str | None = None  # what the radio is doing, in words; None: not in the value


def _version_tuple(text: str) -> tuple[int, int, int]:
    parts = [int(p) if p.isdigit() else 0 for p in text.split(".")[:3]]
    parts += [0] * (3 - len(parts))
    return (min(parts[0], 255), min(parts[1], 255), min(parts[2], 255))


def status_from_stats(
    software: str, uptime_s: float, meters_known: int, stats: Mapping[str, Any]
) -> StatusValue:
    radio = stats.get("radio_state")
    counters = {name: _count(stats.get(name)) for name in STATUS_COUNTERS}
    by_state = stats.get("meters")
    by_state = by_state if isinstance(by_state, Mapping) else {}
    text = stats.get("radio_status")
    return StatusValue(
        software=_version_tuple(software),
        uptime_s=max(0, int(uptime_s)),
        radio_state=radio if isinstance(radio, str) and radio in RADIO_STATES else "unknown",
        meters_known=meters_known,
        counters=counters,
        health={name: _count(by_state.get(name)) for name in HEALTH_STATES},
        radio_status=text if isinstance(text, str) else "",
    )


def _count(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


def _cut_utf8(text: str, limit: int) -> bytes:
    data = text.encode()
    if len(data) <= limit:
        return data
    return data[:limit].decode(errors="ignore").encode()


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
    health = s.health or {}
    tail = b"".join(
        struct.pack("<H", NA_U16 if (v := health.get(n)) is None else min(v, NA_U16 - 1))
        for n in HEALTH_STATES
    )
    text = _cut_utf8(s.radio_status or "", RADIO_TEXT_MAX)
    return head + body + tail + bytes((len(text),)) + text


def decode_status(data: bytes) -> StatusValue:
    want = _STATUS_HEAD.size + 4 * len(STATUS_COUNTERS)
    if len(data) < want:
        raise ValueError(f"status value is at least {want} bytes, got {len(data)}")
    ver, major, minor, patch, uptime, radio, meters = _STATUS_HEAD.unpack_from(data)
    if ver != STATUS_VERSION:
        raise ValueError(f"unknown status version {ver}")
    states = {v: k for k, v in RADIO_STATES.items()}
    values = struct.unpack_from(f"<{len(STATUS_COUNTERS)}I", data, _STATUS_HEAD.size)
    health, radio_status = _decode_tail(data[want:])
    return StatusValue(
        software=(major, minor, patch),
        uptime_s=uptime,
        radio_state=states.get(radio, "unknown"),
        meters_known=meters,
        counters={
            n: None if v == NA_U32 else v for n, v in zip(STATUS_COUNTERS, values, strict=True)
        },
        health=health,
        radio_status=radio_status,
    )


def _decode_tail(tail: bytes) -> tuple[dict[str, int | None] | None, str | None]:
    """Meters by health state and the radio text, when the value has them (a value of 43
    bytes, from an older gateway, has neither)."""
    size = 2 * len(HEALTH_STATES)
    if len(tail) < size:
        return None, None
    counts = struct.unpack_from(f"<{len(HEALTH_STATES)}H", tail)
    health = {n: None if v == NA_U16 else v for n, v in zip(HEALTH_STATES, counts, strict=True)}
    if len(tail) <= size or len(tail) < size + 1 + tail[size]:
        return health, None
    return health, tail[size + 1 : size + 1 + tail[size]].decode(errors="replace")
