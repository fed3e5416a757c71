"""Qundis Q water 5.5 water meters (wmbusmeters "qwater" and its successor "qwaterv2").

Short telegrams (CI 7A/72) carry standard records: the total, the year-end value and date
(storage 1), the month-end value and date (storage 17), an error date. Long telegrams (CI 78)
carry one record 0D FF 5F whose variable-length blob holds, after its length byte:

  [9]       0x13: the blob is a walk-by data set (anything else: not decoded)
  [12:16]   total, BCD, litres
  [16:18]   year-end date (type G)      [18:22] year-end volume, BCD, litres
  [22:24]   month-end date (type G)     [24:28] month-end volume, BCD, litres
  [28:52]   12 monthly deltas, signed 16-bit little-endian, litres (volume_delta_2..13)

The two drivers differ only in field names; qwaterv2 is auto-detected.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, key, storage
from gatewayd.meters.mfct import MfctDriver, bcd, scaled
from gatewayd.wmbus.datetimes import date_g
from gatewayd.wmbus.telegram import Telegram

BLOB_HEADER = bytes.fromhex("0DFF5F")
WALK_BY_MARK = 0x13
DELTAS = 12
DELTA_FIRST = 2  # the first delta is named volume_delta_2

# (version, device type) of the meters and their radio converters
MVTS = (
    *((v, t) for v in range(0x16, 0x1E) for t in (0x06, 0x07)),
    (0x35, 0x06),
    (0x35, 0x07),
    (0x35, 0x37),
)


def walk_by(telegram: Telegram) -> bytes | None:
    """The blob of the 0D FF 5F record (LVAR byte removed), when it is a walk-by data set."""
    for rec in telegram.records:
        if rec.header.difvif == BLOB_HEADER:
            blob = rec.raw[1:]
            if len(blob) >= 28 and blob[9] == WALK_BY_MARK:
                return blob
    return None


def _litres(data: bytes) -> int | float | None:
    n = bcd(data)
    return None if n is None else scaled(n, 1000)


@dataclass(frozen=True, slots=True)
class Names:
    """One driver's field names: (date, volume) at year end and month end; deltas or not."""

    year: tuple[str, str]
    month: tuple[str, str]
    deltas: bool

    def outputs(self) -> tuple[str, ...]:
        deltas = (
            [f"volume_delta_{n + DELTA_FIRST}_m3" for n in range(DELTAS)] if self.deltas else []
        )
        return ("total_m3", *self.year, *self.month, *deltas)

    def __call__(self, telegram: Telegram) -> dict[str, object]:
        blob = walk_by(telegram)
        if blob is None:
            return {}
        out: dict[str, object] = {
            "total_m3": _litres(blob[12:16]),
            self.year[0]: date_g(blob[16:18]),
            self.year[1]: _litres(blob[18:22]),
            self.month[0]: date_g(blob[22:24]),
            self.month[1]: _litres(blob[24:28]),
        }
        if self.deltas:
            for n in range(DELTAS):
                pos = 28 + 2 * n
                if pos + 2 > len(blob):
                    break
                raw = int.from_bytes(blob[pos : pos + 2], "little", signed=True)
                out[f"volume_delta_{n + DELTA_FIRST}_m3"] = scaled(raw, 1000)
        return out


def _base(name: str, year: tuple[str, str], month: tuple[str, str], error: str) -> TableDriver:
    return TableDriver(
        name=name,
        field_specs=(
            FieldSpec("total_m3", storage(0, "volume"), unit="m3"),
            FieldSpec(year[1], storage(1, "volume"), unit="m3"),
            FieldSpec(year[0], storage(1, "date"), kind="date"),
            FieldSpec(month[1], storage(17, "volume"), unit="m3"),
            FieldSpec(month[0], storage(17, "date"), kind="date"),
            FieldSpec(error, key("326C"), kind="date"),
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
        ),
        status_specs=(StatusSpec(Match(vif="error flags"), BitLookup((), unknown="ERROR_FLAGS")),),
        tpl_status=True,
    )


def _driver(name: str, names: Names, error: str, detect: bool) -> MfctDriver:
    return MfctDriver(
        name=name,
        extract=names,
        base=_base(name, names.year, names.month, error),
        detect=tuple(Detect("QDS", v, t) for v, t in MVTS) if detect else (),
        outputs=names.outputs(),
    )


def qwater() -> MfctDriver:
    names = Names(("due_date", "due_date_m3"), ("due_17_date", "due_17_date_m3"), deltas=False)
    return _driver("qwater", names, "error_date", detect=False)


def qwaterv2() -> MfctDriver:
    names = Names(("target_year_date", "target_year_m3"), ("target_date", "target_m3"), True)
    return _driver("qwaterv2", names, "device_error_date", detect=True)
