"""Techem meters with manufacturer frames (CI 0xA0-0xA2): the FHKV data III heat cost
allocator (wmbusmeters "fhkvdataiii") and the compact V / vario 4 heat meters ("compact5",
"vario451").

fhkvdataiii, after the CI: a layout byte (0x01 or 0x11; 0x0F has one more byte before the
temperatures), then 16-bit little-endian words: previous billing date (day bits 0-4, month
5-8, year - 2000 from bit 9), previous-period units, current date (day bits 4-8, month 9-12;
the year is the previous date's, plus one when the current day is not after it), current
units, room and radiator temperature in 1/100 °C.

compact5: previous-period energy in bytes 3-5 and current-period energy in 7-9 (24-bit,
kWh). vario451: the same in bytes 3-4 and 7-8 (16-bit, in units of 1/3.6 kWh, i.e. MJ).
The total is the two added.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect
from gatewayd.meters.mfct import MfctDriver, scaled
from gatewayd.meters.synth import day_month_year, iso_date
from gatewayd.wmbus.telegram import Telegram

MFCT_CIS = (0xA0, 0xA1, 0xA2)
COMPACT5_MVTS = ((0x45, 0x04), (0x45, 0xC3), (0x22, 0x43), (0x45, 0x43), (0x39, 0x43))
FHKV_LAYOUTS = {0x01: 0, 0x11: 0, 0x0F: 1}  # layout byte -> extra bytes before temperatures


def _word(d: bytes, pos: int) -> int:
    return d[pos] | d[pos + 1] << 8


def fhkvdataiii_fields(telegram: Telegram) -> dict[str, object]:
    d = telegram.manufacturer_data
    if telegram.ci not in MFCT_CIS or not d or d[0] not in FHKV_LAYOUTS:
        return {}
    extra = FHKV_LAYOUTS[d[0]]
    if len(d) < 13 + extra:
        return {}
    prev_day, prev_month, prev_year = day_month_year(_word(d, 1))
    curr = _word(d, 5)
    day = (curr >> 4) & 0x1F or 1
    month = (curr >> 9) & 0x0F or 12
    rolled = month < prev_month or (month == prev_month and day <= prev_day)
    t = 9 + extra
    return {
        "current_hca": _word(d, 7),
        "current_date": iso_date(2000 + prev_year + rolled, month, day),
        "previous_hca": _word(d, 3),
        "previous_date": iso_date(2000 + prev_year, prev_month, prev_day),
        "temp_room_c": scaled(_word(d, t), 100),
        "temp_radiator_c": scaled(_word(d, t + 2), 100),
    }


BILLING_FIELDS = ("total_kwh", "current_kwh", "previous_kwh")


def _billing(telegram: Telegram, prev: slice, curr: slice, divisor: float) -> dict[str, object]:
    d = telegram.manufacturer_data
    if telegram.ci not in MFCT_CIS or d is None or len(d) < curr.stop:
        return {}
    p = int.from_bytes(d[prev], "little")
    c = int.from_bytes(d[curr], "little")
    return {
        "total_kwh": _kwh(p + c, divisor),
        "current_kwh": _kwh(c, divisor),
        "previous_kwh": _kwh(p, divisor),
    }


def _kwh(raw: int, divisor: float) -> int | float:
    v = raw / divisor
    return int(v) if v.is_integer() else round(v, 6)


def compact5_fields(telegram: Telegram) -> dict[str, object]:
    return _billing(telegram, slice(3, 6), slice(7, 10), 1)


def vario451_fields(telegram: Telegram) -> dict[str, object]:
    return _billing(telegram, slice(3, 5), slice(7, 9), 3.6)


def fhkvdataiii() -> MfctDriver:
    return MfctDriver(
        name="fhkvdataiii",
        extract=fhkvdataiii_fields,
        outputs=(
            "current_hca",
            "current_date",
            "previous_hca",
            "previous_date",
            "temp_room_c",
            "temp_radiator_c",
        ),
        detect=(Detect("TCH", 0x69, 0x80), Detect("TCH", 0x94, 0x80)),
    )


def compact5() -> MfctDriver:
    return MfctDriver(
        name="compact5",
        extract=compact5_fields,
        outputs=BILLING_FIELDS,
        detect=tuple(Detect("TCH", v, t) for v, t in COMPACT5_MVTS),
    )


def vario451() -> MfctDriver:
    return MfctDriver(
        name="vario451",
        extract=vario451_fields,
        outputs=BILLING_FIELDS,
        detect=(Detect("TCH", 0x27, 0x04), Detect("TCH", 0x27, 0xC3)),
    )
