"""Techem MK Radio 3 water meters (wmbusmeters "mkradio3" and "mkradio3a"), CI 0xA2 frames.

Dates are 16-bit little-endian words: day in bits 0-4, month in 5-8, year - 2000 from bit 9
(mkradio3's current date: day in bits 4-8, month in 9-12, year implied by the previous date).
Volumes are in 1/10 m3.

mkradio3:  [1:3] previous billing date, [3:5] volume then, [5:7] current billing date,
           [7:9] volume since; total = the two volumes added.
mkradio3a: [2:4] current date, [4:7] total; then 12 words, each after one filler byte, of two
           bytes low/high: month k's start value is hist[k].lo + hist[k].hi after the 15th of
           the month, hist[k-1].hi + hist[k].lo before (k = 0: this month, counting back).
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect
from gatewayd.meters.mfct import MfctDriver, scaled
from gatewayd.wmbus.telegram import Telegram

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
HISTORY = 12


def _date(year: int, month: int, day: int) -> str | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{2000 + year:04d}-{month:02d}-{day:02d}"


def _word(data: bytes, pos: int) -> int:
    return data[pos] | data[pos + 1] << 8


def mkradio3_fields(telegram: Telegram) -> dict[str, object]:
    d = telegram.manufacturer_data
    if telegram.ci != 0xA2 or d is None or len(d) < 9:
        return {}
    prev = _word(d, 1)
    prev_day, prev_month, prev_year = prev & 0x1F, (prev >> 5) & 0x0F, prev >> 9
    curr = _word(d, 5)
    curr_day, curr_month = (curr >> 4) & 0x1F, (curr >> 9) & 0x0F
    rolled = (curr_month, curr_day) <= (prev_month, prev_day)
    target, current = _word(d, 3), _word(d, 7)
    return {
        "total_m3": scaled(target + current, 10),
        "target_m3": scaled(target, 10),
        "current_date": _date(prev_year + rolled, curr_month, curr_day),
        "prev_date": _date(prev_year, prev_month, prev_day),
    }


def mkradio3a_fields(telegram: Telegram) -> dict[str, object]:
    d = telegram.manufacturer_data
    if telegram.ci != 0xA2 or d is None or len(d) < 7 + 3 * HISTORY:
        return {}
    curr = _word(d, 2)
    day, month, year = curr & 0x1F, (curr >> 5) & 0x0F, curr >> 9
    lo = [d[8 + 3 * k] for k in range(HISTORY)]
    hi = [d[9 + 3 * k] for k in range(HISTORY)]
    if day > 15:
        rel = [lo[k] + hi[k] for k in range(HISTORY)]
    else:
        rel = [lo[0]] + [hi[k - 1] + lo[k] for k in range(1, HISTORY)]
    out: dict[str, object] = {
        "total_m3": scaled(int.from_bytes(d[4:7], "little"), 10),
        "target_m3": scaled(rel[0], 10),
        "target_date": _date(year, month, day),
    }
    if 1 <= month <= 12:
        for m, name in enumerate(MONTHS, start=1):
            out[f"last_{name}_m3"] = scaled(rel[(month - m) % HISTORY], 10)
    return out


def mkradio3() -> MfctDriver:
    return MfctDriver(
        name="mkradio3",
        extract=mkradio3_fields,
        outputs=("total_m3", "target_m3", "current_date", "prev_date"),
        detect=(Detect("TCH", 0x74, 0x62), Detect("TCH", 0x74, 0x72)),
    )


def mkradio3a() -> MfctDriver:
    return MfctDriver(
        name="mkradio3a",
        extract=mkradio3a_fields,
        detect=(Detect("TCH", 0x50, 0x72),),
        outputs=(
            "total_m3",
            "target_m3",
            "target_date",
            *(f"last_{name}_m3" for name in MONTHS),
        ),
    )
