"""Diehl IZAR / PRIOS water meters (wmbusmeters "izar" and "izarv2").

The whole telegram after the CI (0xA0-0xA7) is manufacturer-specific. Bytes 11-13 of the frame
(L byte = 0) are clear: transmit period, battery life and alarm bits. From byte 15 on, the
data is obfuscated with a 32-bit LFSR whose seed is a default key folded with the frame
header; a good seed makes the first clear byte 0x4B. Clear bytes 1-4: total, litres; 5-8:
the last billing-date total; 9-10: that date.

For SAP meters the address bytes encode the printed serial: manufacture year, serial number
and a letter prefix (supplier, meter type, diameter). The address is used as sent; wmbusmeters
rewrites the A field of non-SAP PRIOS frames (the id it prints differs).
"""

from __future__ import annotations

from dataclasses import dataclass

from gatewayd.meters.mfct import CiDetect, MfctDriver, scaled
from gatewayd.wmbus.telegram import Telegram

# the two published default keys, each 8 bytes folded to 32 bits (high half ^ low half)
DEFAULT_KEYS = tuple(
    int.from_bytes(bytes.fromhex(k)[:4], "big") ^ int.from_bytes(bytes.fromhex(k)[4:], "big")
    for k in ("39BC8A10E66D83F8", "51728910E66D83F8")
)
CHECK_BYTE = 0x4B
LFSR_TAPS = (1, 2, 11, 31)
DATA_START = 15
PRIOS_CIS = range(0xA0, 0xA8)
MANUFACTURERS = ("SAP", "DME", "HYD")

# (frame byte, bit) -> alarm; "current" ones, then "previous" ones, in wmbusmeters' order
CURRENT_ALARMS = (
    (12, 7, "leakage"),
    (12, 5, "meter_blocked"),
    (13, 7, "back_flow"),
    (13, 6, "underflow"),
    (13, 5, "overflow"),
    (13, 4, "submarine"),
    (13, 3, "sensor_fraud"),
    (13, 1, "mechanical_fraud"),
)
PREVIOUS_ALARMS = ((12, 6, "leakage"), (13, 2, "sensor_fraud"), (13, 0, "mechanical_fraud"))
GENERAL_ALARM = (11, 7)


def _step(key: int) -> int:
    bit = 0
    for tap in LFSR_TAPS:
        bit ^= (key >> tap) & 1
    return ((key << 1) | bit) & 0xFFFFFFFF


def deobfuscate(frame: bytes, key: int) -> bytes | None:
    """The clear data (frame[15:]) under this default key; None when the check byte is wrong."""
    if len(frame) <= DATA_START:
        return None
    key ^= int.from_bytes(frame[2:6], "big")
    key ^= int.from_bytes(frame[6:10], "big")
    key ^= int.from_bytes(frame[10:14], "big")
    out = bytearray()
    for b in frame[DATA_START:]:
        for _ in range(8):
            key = _step(key)
        out.append(b ^ (key & 0xFF))
        if out[0] != CHECK_BYTE:
            return None
    return bytes(out)


def clear_data(frame: bytes) -> bytes | None:
    for key in DEFAULT_KEYS:
        data = deobfuscate(frame, key)
        if data is not None:
            return data
    return None


def sap_identity(frame: bytes) -> dict[str, str]:
    """Manufacture year, serial number and printed prefix from a SAP meter's address bytes."""
    digits = f"{((frame[7] & 0x03) << 24) | (frame[6] << 16) | (frame[5] << 8) | frame[4]:08d}"
    yy = int(digits[:2])
    supplier = chr(64 + (((frame[9] & 0x0F) << 1) | (frame[8] >> 7)))
    meter_type = chr(64 + ((frame[8] & 0x7C) >> 2))
    diameter = chr(64 + (((frame[8] & 0x03) << 3) | (frame[7] >> 5)))
    return {
        "prefix": f"{supplier}{yy:02d}{meter_type}{diameter}",
        "serial_number": f"{int(digits[2:]):06d}",
        "year": str(1900 + yy if yy > 70 else 2000 + yy),
    }


def _bits(frame: bytes, table: tuple[tuple[int, int, str], ...]) -> list[str]:
    return [name for pos, bit, name in table if (frame[pos] >> bit) & 1]


@dataclass(frozen=True, slots=True)
class Reading:
    """Everything a PRIOS telegram says, before naming."""

    total_m3: int | float
    billing_m3: int | float | None
    billing_date: str | None
    battery_y: int | float
    transmit_period_s: int
    current: list[str]
    previous: list[str]
    general: bool
    identity: dict[str, str] | None


def read(telegram: Telegram) -> Reading | None:
    frame = telegram.frame
    if telegram.ci not in PRIOS_CIS or len(frame) < DATA_START + 5:
        return None
    data = clear_data(frame)
    if data is None:
        return None
    billing_m3 = scaled(int.from_bytes(data[5:9], "little"), 1000) if len(data) > 8 else None
    billing_date = None
    if len(data) > 10:
        year = ((data[10] & 0xF0) >> 1) + ((data[9] & 0xE0) >> 5)
        year += 1900 if year > 80 else 2000
        billing_date = f"{year}-{data[10] & 0x0F:02d}-{data[9] & 0x1F:02d}"
    return Reading(
        total_m3=scaled(int.from_bytes(data[1:5], "little"), 1000),
        billing_m3=billing_m3,
        billing_date=billing_date,
        battery_y=scaled(frame[12] & 0x1F, 2),
        transmit_period_s=1 << ((frame[11] & 0x0F) + 2),
        current=_bits(frame, CURRENT_ALARMS),
        previous=_bits(frame, PREVIOUS_ALARMS),
        general=bool((frame[GENERAL_ALARM[0]] >> GENERAL_ALARM[1]) & 1),
        identity=sap_identity(frame) if telegram.address.manufacturer == "SAP" else None,
    )


def izar_fields(telegram: Telegram) -> dict[str, object]:
    r = read(telegram)
    if r is None:
        return {}
    out: dict[str, object] = {}
    if r.identity:
        out["prefix"] = r.identity["prefix"]
        out["serial_number"] = r.identity["serial_number"]
    out["total_m3"] = r.total_m3
    if r.billing_m3 is not None:
        out["last_month_total_m3"] = r.billing_m3
    if r.billing_date is not None:
        out["last_month_measure_date"] = r.billing_date
    out["remaining_battery_life_y"] = r.battery_y
    if r.current:
        out["current_alarms"] = "general_alarm" if r.general else ",".join(r.current)
    else:
        out["current_alarms"] = "no_alarm"
    out["previous_alarms"] = ",".join(r.previous) if r.previous else "no_alarm"
    out["transmit_period_s"] = r.transmit_period_s
    if r.identity:
        out["manufacture_year"] = r.identity["year"]
    return out


def izarv2_fields(telegram: Telegram) -> dict[str, object]:
    r = read(telegram)
    if r is None:
        return {}
    out: dict[str, object] = {}
    if r.identity:
        out["prefix"] = r.identity["prefix"]
        out["serial_number"] = r.identity["serial_number"]
        out["manufacture_y"] = r.identity["year"]
    out["total_m3"] = r.total_m3
    if r.billing_m3 is not None:
        out["target_m3"] = r.billing_m3
    if r.billing_date is not None:
        out["target_date"] = r.billing_date
    out["battery_y"] = r.battery_y
    out["transmit_period_s"] = r.transmit_period_s
    tokens = sorted(a.upper() for a in r.current)
    out["status"] = " ".join(tokens) if tokens else "OK"
    return out


def izar() -> MfctDriver:
    return MfctDriver(
        name="izar",
        extract=izar_fields,
        outputs=(
            "prefix",
            "serial_number",
            "total_m3",
            "last_month_total_m3",
            "last_month_measure_date",
            "remaining_battery_life_y",
            "current_alarms",
            "previous_alarms",
            "transmit_period_s",
            "manufacture_year",
        ),
        ci_detect=tuple(CiDetect(m, ci) for m in MANUFACTURERS for ci in PRIOS_CIS),
    )


def izarv2() -> MfctDriver:
    return MfctDriver(
        name="izarv2",
        extract=izarv2_fields,
        outputs=(
            "prefix",
            "serial_number",
            "manufacture_y",
            "total_m3",
            "target_m3",
            "target_date",
            "battery_y",
            "transmit_period_s",
            "status",
        ),
    )
