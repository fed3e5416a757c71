"""BMETERS Hydrodigit water meters (wmbusmeters "hydrodigit").

Standard records give the total and the meter time. The manufacturer data (after DIF 0x0F)
starts with a content byte whose bits say which blocks follow, in this order:

  bit 0  battery: 1 byte, the low nibble indexes VOLTAGES
  bit 1  fraud date: 3 bytes year, month, day (BCD; the month byte's top bits = fraud type)
  bit 7  leak date: 3 bytes year, month, day (BCD)
  bit 2  backflow: 4 bytes little-endian, litres
  bit 4  monthly totals: 12 x 3 bytes little-endian, 1/100 m3, January first;
         100000 m3 and above (FFFFFF: not yet installed) reads as 0
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import FieldSpec, Match, storage
from gatewayd.meters.mfct import MfctDriver, scaled
from gatewayd.wmbus.telegram import Telegram

BATTERY, FRAUD, BACKFLOW, MONTHLY, LEAK = 0x01, 0x02, 0x04, 0x10, 0x80

CONTENT_NAMES = (
    (BATTERY, "BATTERY_VOLTAGE"),
    (FRAUD, "FRAUD_DATE"),
    (LEAK, "LEAK_DATE"),
    (BACKFLOW, "BACKFLOW"),
    (MONTHLY, "MONTHLY_DATA"),
)
FRAUD_TYPES = (
    (0x80, "MAGNETIC_FRAUD_ATTEMPT"),
    (0x40, "SENSOR_FRAUD_ATTEMPT"),
    (0x20, "MODULE_REMOVED"),
)

# battery byte low nibble -> volts (0, 14 and 15 all mean "full", 3.7 V)
VOLTAGES = (3.7, 1.9, 2.1, 2.2, 2.3, 2.4, 2.5, 2.65, 2.8, 2.9, 3.05, 3.2, 3.35, 3.5, 3.7, 3.7)
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
MONTHLY_LIMIT = 100000 * 100  # 1/100 m3


def _bcd_date(year: int, month: int, day: int) -> str | None:
    """20YY-MM-DD from BCD bytes; None when a part is zero or not BCD."""
    parts = []
    for b in (year, month, day):
        if b >> 4 > 9 or b & 0x0F > 9:
            return None
        parts.append((b >> 4) * 10 + (b & 0x0F))
    y, m, d = parts
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return None
    return f"{2000 + y:04d}-{m:02d}-{d:02d}"


def extract(telegram: Telegram) -> dict[str, object]:
    data = telegram.manufacturer_data
    if not data:
        return {}
    content = data[0]
    out: dict[str, object] = {
        "contents": " ".join(sorted(name for bit, name in CONTENT_NAMES if content & bit))
    }
    i = 1
    if content & BATTERY and i < len(data):
        out["voltage_v"] = VOLTAGES[data[i] & 0x0F]
        i += 1
    if content & FRAUD and i + 3 <= len(data):
        y, m, d = data[i : i + 3]
        out["fraud_date"] = _bcd_date(y, m & 0x1F, d)
        kinds = sorted(name for bit, name in FRAUD_TYPES if m & bit)
        out["fraud_type"] = " ".join(kinds) if kinds else "NO_TYPE_INFO"
        i += 3
    if content & LEAK and i + 3 <= len(data):
        out["leak_date"] = _bcd_date(*data[i : i + 3])
        i += 3
    if content & BACKFLOW and i + 4 <= len(data):
        out["backflow_m3"] = scaled(int.from_bytes(data[i : i + 4], "little"), 1000)
        i += 4
    if content & MONTHLY:
        for month in MONTHS:
            if i + 3 > len(data):
                break
            raw = int.from_bytes(data[i : i + 3], "little")
            out[f"{month}_total_m3"] = scaled(raw, 100) if raw < MONTHLY_LIMIT else 0
            i += 3
    return out


BASE = TableDriver(
    name="hydrodigit",
    field_specs=(
        FieldSpec("total_m3", Match(vif="volume"), unit="m3"),
        FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
    ),
)


def hydrodigit() -> MfctDriver:
    return MfctDriver(
        name="hydrodigit",
        extract=extract,
        base=BASE,
        outputs=(
            "contents",
            "voltage_v",
            "fraud_date",
            "fraud_type",
            "leak_date",
            "backflow_m3",
            *(f"{month}_total_m3" for month in MONTHS),
        ),
        detect=tuple(
            Detect("BMT", v, t)
            for v, t in ((0x13, 0x06), (0x17, 0x06), (0x13, 0x07), (0x15, 0x07), (0x17, 0x07))
        ),
    )
