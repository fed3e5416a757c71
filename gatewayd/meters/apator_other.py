"""Apator meters with manufacturer frames (CI 0xA0-0xB7): the 08 and 17-2 water meters
(wmbusmeters "apator08", "apator172"), the E-ITN heat cost allocator ("apatoreitn") and the
NA-1 water meter ("apatorna1").

apator08 / apator172: the first 4 bytes after the CI are the total, little-endian, in units
of 1/3 litre (apator172: 1/3 m3).

apatoreitn: 15 bytes, optionally after a marker 0xA0, or (frame type 0xB6) after a count
byte N, N bytes and 0xA0: season-start day/month low byte (the high byte is 0xA0), 2 unused,
previous units, seal-broken date (0: intact), current units, current date (16-bit dates: day
bits 0-4, month 5-8, year - 2000 bits 9-13), previous and current average room temperature
(8.8 fixed point, °C).

apatorna1: byte 0 is the access number, byte 1 frame status flags; bytes 2-17 are AES-128-CBC
encrypted with the meter's key (an AES-128 key: without one, or with one of another kind,
nothing of the frame is read) and the OMS mode-5 IV (link-layer M and A fields, then the
access number 8 times). Clear: 1 unused, packed total (4), meter time (4, seconds since
2000-01-01), history age low byte, age/delta byte, history delta (3), current and historic
status flags. The packed total: digits = (raw >> 8) * 16 + (raw & 15), times
10 ** ((raw >> 4) & 3) litres. The history value is the total minus a delta in the same
unit; its time is the meter time minus its age in hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from gatewayd.meters.driver import Detect
from gatewayd.meters.mfct import MfctDriver, scaled
from gatewayd.meters.synth import iso_date
from gatewayd.wmbus.crypto import DES_KEY_BYTES, aes_cbc_decrypt
from gatewayd.wmbus.errors import KeyKindError, NoKeyError
from gatewayd.wmbus.telegram import Telegram

MFCT_CIS = range(0xA0, 0xB8)
EPOCH = datetime(2000, 1, 1)


def _total(telegram: Telegram, divisor: int) -> dict[str, object]:
    d = telegram.manufacturer_data
    if telegram.ci not in MFCT_CIS or d is None or len(d) < 4:
        return {}
    return {"total_m3": round(int.from_bytes(d[:4], "little") / divisor, 6)}


def apator08() -> MfctDriver:
    return MfctDriver(
        name="apator08",
        extract=lambda t: _total(t, 3000),
        outputs=("total_m3",),
        detect=(Detect("APT", 0x03, 0x03), Detect("APT", 0x0F, 0x0F)),
    )


def apator172() -> MfctDriver:
    return MfctDriver(
        name="apator172",
        extract=lambda t: _total(t, 3),
        detect=(Detect("APT", 0x04, 0x11),),
        outputs=("total_m3",),
    )


# ---- E-ITN heat cost allocator ----

EITN_BYTES = 15
EITN_MARK = 0xA0
SEASON_HIGH = 0xA0


def _eitn_body(d: bytes) -> bytes | None:
    if len(d) == EITN_BYTES:
        return d
    if len(d) == EITN_BYTES + 1 and d[0] == EITN_MARK:
        return d[1:]
    n = d[0] if d else 0xFF
    if n <= 0x0F and len(d) == n + 2 + EITN_BYTES and d[n + 1] == EITN_MARK:
        return d[n + 2 :]
    return None


def _eitn_date(word: int) -> str | None:
    return iso_date(2000 + ((word >> 9) & 0x1F), (word >> 5) & 0x0F, word & 0x1F)


def _fixed_8_8(word: int) -> float:
    return (word >> 8) + (word & 0xFF) / 256


def apatoreitn_fields(telegram: Telegram) -> dict[str, object]:
    d = telegram.manufacturer_data
    body = _eitn_body(d) if telegram.ci in MFCT_CIS and d else None
    if body is None:
        return {}

    def word(pos: int) -> int:
        return body[pos] | body[pos + 1] << 8

    esb = word(5)
    return {
        "current_hca": word(7),
        "previous_hca": word(3),
        "current_date": _eitn_date(word(9)),
        "season_start_date": _eitn_date(SEASON_HIGH << 8 | body[0]),
        "esb_date": _eitn_date(esb) if esb else None,
        "status": "SEAL_BROKEN" if esb else "OK",
        "temp_room_avg_c": _fixed_8_8(word(13)),
        "temp_room_prev_avg_c": _fixed_8_8(word(11)),
    }


def apatoreitn() -> MfctDriver:
    return MfctDriver(
        name="apatoreitn",
        extract=apatoreitn_fields,
        outputs=(
            "current_hca",
            "previous_hca",
            "current_date",
            "season_start_date",
            "esb_date",
            "status",
            "temp_room_avg_c",
            "temp_room_prev_avg_c",
        ),
        detect=(Detect("APA", 0x04, 0x08), Detect("APT", 0x04, 0x08)),
    )


# ---- NA-1 water meter ----

FRAME_STATUS = (
    (0x01, "SUMMER_TIME"), (0x02, "HISTORICAL_INDICATION"), (0x04, "MAX_SPEED_EXCEEDED"),
    (0x08, "DEVICE_ACCESS_ERROR"), (0x10, "TWO_WAY_COM_BLOCK"), (0x20, "INSTALL_FRAME"),
    (0x40, "WRONG_TEMPERATURE"), (0x80, "SERVICE_EVENT"),
)  # fmt: skip
_FLOW_STATUS = (
    (0x80, "MINIMUM_FLOW"), (0x40, "MAXIMUM_FLOW"), (0x20, "REVERSE_FLOW"),
    (0x10, "MEASUREMENT_UNCHANGED"), (0x08, "LEAK"), (0x04, "DEVICE_DISCONNECTED"),
    (0x02, "MAGNETIC_FIELD"),
)  # fmt: skip
CURRENT_STATUS = (*_FLOW_STATUS, (0x01, "BATTERY_LOW"))
HISTORIC_STATUS = (*_FLOW_STATUS, (0x01, "BATTERY_LIFETIME_THRESHOLD_EXCEEDED"))
NA1_CIPHER = slice(2, 18)
KEY_BYTES = 16


def _flags(value: int, names: tuple[tuple[int, str], ...]) -> str:
    """Set flags' names, sorted, space-separated; OK when none is set."""
    toks = sorted(name for bit, name in names if value & bit)
    return " ".join(toks) if toks else "OK"


def _minutes(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M")


def apatorna1_fields(telegram: Telegram) -> dict[str, object]:
    d = telegram.manufacturer_data
    key = telegram.mfct_key
    if telegram.ci not in MFCT_CIS or d is None or len(d) < NA1_CIPHER.stop:
        return {}
    if key is None:
        raise NoKeyError(
            "Apator NA-1: its values are AES-128 encrypted and no key is configured", telegram.id
        )
    if len(key) != KEY_BYTES:
        kind = "a DES key (8 bytes)" if len(key) == DES_KEY_BYTES else f"{len(key)} bytes"
        raise KeyKindError(
            f"the configured key is {kind}; an Apator NA-1 encrypts its values with AES-128 "
            "and needs an AES-128 key (32 hex digits)",
            telegram.id,
        )
    out: dict[str, object] = {"frame_status": _flags(d[1], FRAME_STATUS)}
    iv = telegram.address.raw[:8] + bytes([d[0]]) * 8
    c = aes_cbc_decrypt(key, iv, d[NA1_CIPHER])
    packed = int.from_bytes(c[1:5], "little")
    mult = 10 ** ((packed >> 4) & 3)
    total_l = ((packed >> 8) * 16 + (packed & 0x0F)) * mult
    meter_time = EPOCH + timedelta(seconds=int.from_bytes(c[5:9], "little"))
    age_h = (c[10] >> 2) * 256 + c[9]
    delta = (c[13] << 18) + (c[12] << 10) + (c[11] << 2) + (c[10] & 3)
    out.update(
        {
            "historic_m3": scaled(total_l - delta * mult, 1000),
            "historic_datetime": _minutes(meter_time - timedelta(hours=age_h)),
            "historic_age_h": age_h,
            "meter_datetime": _minutes(meter_time),
            "total_m3": scaled(total_l, 1000),
            "current_status": _flags(c[14], CURRENT_STATUS),
            "historic_status": _flags(c[15], HISTORIC_STATUS),
        }
    )
    return out


def apatorna1() -> MfctDriver:
    return MfctDriver(
        name="apatorna1",
        extract=apatorna1_fields,
        detect=(Detect("APA", 0x14, 0x07),),
        outputs=(
            "frame_status",
            "historic_m3",
            "historic_datetime",
            "historic_age_h",
            "meter_datetime",
            "total_m3",
            "current_status",
            "historic_status",
        ),
    )
