"""Water meters with standard records and a few vendor specifics: Integra/Itron Aquastream
(wmbusmeters "aquastream"), Amiplus/Apator Topas ES KR ("topaseskr"), Diehl Hydrus ("hydrus")
and GWF water meters ("gwfwater").

Remaining battery life (VIF FD 74, days) is shown in years of 365.2425 days, except on the
Aquastream, whose value wmbusmeters divides by 365. GWF puts two bytes after DIF 0x0F: when
the first is 0x01, the next is a status flag byte and the one after it holds the power mode
(bit 0: saving) and the battery life in half years (bits 3-7); any other first byte is an
unknown status, reported as UNKNOWN_MFCT_STATUS_<hex>.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, storage
from gatewayd.meters.mfct import MfctDriver
from gatewayd.meters.synth import SynthDriver, raw_uint
from gatewayd.meters.tplstatus import tpl_status_tokens
from gatewayd.wmbus.records import Record
from gatewayd.wmbus.telegram import Telegram

_ERRORS = Match(vif="error flags")
DAYS_PER_AQUASTREAM_YEAR = 365


def _tariff(n: int, vif: str, s: int = 0) -> Match:
    return Match(vif=vif, storage=(s, s), tariff=(n, n))


def _aquastream_battery(
    telegram: Telegram, records: dict[bytes, Record], fields: dict[str, object]
) -> dict[str, object]:
    days = raw_uint(records, "02FD74")
    return {} if days is None else {"battery_y": round(days / DAYS_PER_AQUASTREAM_YEAR, 6)}


def aquastream() -> SynthDriver:
    flags = BitLookup(
        ((0x1, "TAMPER"), (0x4, "BURST"), (0x8, "LEAK"), (0x80, "NO_FLOW"),
         (0x100, "LOW_BATTERY"), (0x200, "REVERSE"), (0x400, "OVERFLOW")),
        mask=0xFFFF,
    )  # fmt: skip
    base = TableDriver(
        name="aquastream",
        field_specs=(
            FieldSpec("total_m3", storage(0, "volume"), unit="m3"),
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("target_m3", storage(1, "volume"), unit="m3"),
            FieldSpec("target_date", storage(1, "date"), kind="date"),
            FieldSpec("total_backwards_m3", _tariff(1, "volume"), unit="m3"),
        ),
        status_specs=(StatusSpec(_ERRORS, flags),),
        tpl_status=True,
    )
    return SynthDriver(
        name="aquastream",
        base=base,
        calc=_aquastream_battery,
        detect=(Detect("IMT", 0x01, 0x07),),
        outputs=("battery_y",),
    )


def topaseskr() -> TableDriver:
    return TableDriver(
        name="topaseskr",
        detect=(Detect("AMT", 0xF1, 0x06), Detect("AMT", 0xF1, 0x07)),
        field_specs=(
            FieldSpec("total_m3", storage(0, "volume"), unit="m3"),
            FieldSpec("access_counter", Match(vif="access number"), kind="raw"),
            FieldSpec("temperature_c", storage(0, "flow temperature"), unit="c"),
            FieldSpec("current_flow_m3h", storage(0, "volume flow"), unit="m3h"),
            FieldSpec("volume_year_period_m3", storage(1, "volume"), unit="m3"),
            FieldSpec("reverse_volume_year_period_m3", _tariff(1, "volume", 1), unit="m3"),
            FieldSpec("meter_year_period_end_date", storage(1, "date"), kind="date"),
            FieldSpec("volume_month_period_m3", storage(3, "volume"), unit="m3"),
            FieldSpec("meter_month_period_end_datetime", storage(3, "datetime"), kind="datetime"),
            FieldSpec("battery_y", storage(0, "remaining battery"), unit="y"),
        ),
    )


HYDRUS_MVTS = (
    ("DME", 0x70, 0x07), ("DME", 0x76, 0x07), ("HYD", 0x24, 0x07), ("HYD", 0x8B, 0x07),
    ("HYD", 0x8B, 0x06), ("DME", 0x70, 0x06), ("DME", 0x70, 0x16),
)  # fmt: skip


def hydrus() -> TableDriver:
    return TableDriver(
        name="hydrus",
        detect=tuple(Detect(m, v, t) for m, v, t in HYDRUS_MVTS),
        field_specs=(
            FieldSpec("total_m3", storage(0, "volume"), unit="m3"),
            *(FieldSpec(f"total_tariff{n}_m3", _tariff(n, "volume"), unit="m3") for n in (1, 2)),
            *(
                FieldSpec(f"total_tariff{n}_at_date_m3", _tariff(n, "volume", 1), unit="m3")
                for n in (1, 2)
            ),
            FieldSpec("flow_m3h", storage(0, "volume flow"), unit="m3h"),
            FieldSpec("total_at_date_m3", storage(1, "volume"), unit="m3"),
            FieldSpec("at_date", storage(1, "date"), kind="date"),
            FieldSpec("target_m3", storage(3, "volume"), unit="m3"),
            FieldSpec("target_datetime", storage(3, "datetime"), kind="datetime"),
            FieldSpec("remaining_battery_life_y", storage(0, "remaining battery"), unit="y"),
            FieldSpec("operating_time_h", storage(0, "operating time"), unit="h"),
            FieldSpec("actuality_duration_s", storage(0, "actuality duration"), unit="s"),
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("customer", Match(vif="customer"), kind="text"),
            FieldSpec("flow_temperature_c", storage(0, "flow temperature"), unit="c"),
            FieldSpec("external_temperature_c", storage(0, "external temperature"), unit="c"),
        ),
        status_specs=(StatusSpec(_ERRORS, BitLookup((), mask=0xFFFF, unknown="ERROR_FLAGS")),),
        tpl_status=True,
    )


GWF_FLAGS = BitLookup(
    ((0x02, "CONTINUOUS_FLOW"), (0x08, "BROKEN_PIPE"), (0x20, "BATTERY_LOW"), (0x40, "BACKFLOW")),
    mask=0xFF,
)
GWF_KNOWN_LAYOUT = 0x01


def gwfwater_fields(telegram: Telegram) -> dict[str, object]:
    d = telegram.manufacturer_data
    tokens = tpl_status_tokens(telegram.tpl.status if telegram.tpl else None)
    out: dict[str, object] = {}
    if d and d[0] == GWF_KNOWN_LAYOUT and len(d) >= 3:
        tokens += GWF_FLAGS.tokens(d[1])
        out["power_mode"] = "SAVING" if d[2] & 0x01 else "NORMAL"
        out["battery_y"] = (d[2] >> 3) * 0.5
        if isinstance(out["battery_y"], float) and out["battery_y"].is_integer():
            out["battery_y"] = int(out["battery_y"])
    elif d:
        tokens.append(f"UNKNOWN_MFCT_STATUS_{d[0]:X}")
        out["battery_y"] = None
    out["status"] = " ".join(sorted(set(tokens))) if tokens else "OK"
    return out


def gwfwater() -> MfctDriver:
    base = TableDriver(
        name="gwfwater",
        field_specs=(
            FieldSpec("actuality_duration_s", storage(0, "actuality duration"), unit="s"),
            FieldSpec("total_m3", storage(0, "volume"), unit="m3"),
            FieldSpec("target_m3", storage(1, "volume"), unit="m3"),
            FieldSpec("target_date", storage(1, "date"), kind="date"),
        ),
    )
    return MfctDriver(
        name="gwfwater",
        extract=gwfwater_fields,
        base=base,
        detect=(Detect("GWF", 0x01, 0x0E), Detect("GWF", 0x3C, 0x07)),
        outputs=("status", "power_mode", "battery_y"),
    )
