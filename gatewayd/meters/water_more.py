"""Water meters read from standard records only, named as wmbusmeters names them: Actaris
ActisLink ("actislink", whose meters encrypt with DES: TPL mode 2), Diehl (Hydrometer) "dme_07"
and "dme173", Elster/Honeywell "emerlin868", Maddalena "evo868" and Qundis/Leistungselektronik
"lse_07_17".

evo868 sends twelve month-end volumes (storage 8-19) after a reference date (storage 8); the
date of history value k is that reference date k - 1 months back (a month end stays a month end).
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, TextSpec, key, storage
from gatewayd.meters.synth import SynthDriver
from gatewayd.wmbus.records import Record
from gatewayd.wmbus.telegram import Telegram

_ERRORS = Match(vif="error flags")
_BACKWARD = (0x3C,)


def _m(vif: str, s: int = 0, c: tuple[int, ...] = (), function: str = "instantaneous") -> Match:
    return Match(vif=vif, function=function, storage=(s, s), combinables=c)


def _flags(mask: int) -> BitLookup:
    return BitLookup((), mask=mask, unknown="ERROR_FLAGS")


def actislink() -> TableDriver:
    return TableDriver(
        name="actislink",
        detect=(Detect("ALK", 0x04, 0x07),),
        field_specs=(FieldSpec("total_m3", _m("volume"), unit="m3"),),
    )


def dme_07() -> TableDriver:
    return TableDriver(
        name="dme_07",
        detect=(Detect("DME", 0x7B, 0x07),),
        field_specs=(FieldSpec("total_m3", _m("volume"), unit="m3"),),
        status_specs=(StatusSpec(_ERRORS, _flags(0xFFFF)),),
    )


def dme173() -> TableDriver:
    return TableDriver(
        name="dme173",
        detect=(Detect("DME", 0x63, 0x07),),
        field_specs=(
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("flow_temperature_c", _m("flow temperature"), unit="c"),
            FieldSpec("total_backward_m3", _m("volume", c=_BACKWARD), unit="m3"),
            FieldSpec("target_m3", _m("volume", s=8), unit="m3"),
            FieldSpec("target_datetime", storage(8, "datetime"), kind="datetime"),
            FieldSpec("total_at_set_date_m3", _m("volume", s=1), unit="m3"),
            FieldSpec("set_date", storage(1, "date"), kind="textdate"),
        ),
        status_specs=(StatusSpec(_ERRORS, _flags(0xFFFFFFFF)),),
        tpl_status=True,
    )


def emerlin868() -> TableDriver:
    return TableDriver(
        name="emerlin868",
        detect=(Detect("ELR", 0x11, 0x37), Detect("ELR", 0x12, 0x37)),
        field_specs=(
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("target_m3", _m("volume", s=1), unit="m3"),
            FieldSpec("target_date", storage(1, "date"), kind="textdate"),
        ),
    )


EVO_HISTORY = 12  # storages 8-19


def _evo_base() -> TableDriver:
    return TableDriver(
        name="evo868",
        field_specs=(
            FieldSpec("fabrication_no", Match(vif="fabrication no"), kind="text"),
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("consumption_at_set_date_m3", _m("volume", s=1), unit="m3"),
            FieldSpec("set_date", storage(1, "date"), kind="textdate"),
            FieldSpec("consumption_at_set_date_2_m3", _m("volume", s=2), unit="m3"),
            FieldSpec("set_date_2", storage(2, "date"), kind="textdate"),
            FieldSpec(
                "max_flow_since_datetime_m3h",
                _m("volume flow", s=3, function="maximum"),
                "number",
                unit="m3h",
            ),
            FieldSpec("max_flow_datetime", storage(3, "datetime"), kind="datetime"),
            *(
                FieldSpec(f"consumption_at_history_{s - 7}_m3", _m("volume", s=s), unit="m3")
                for s in range(8, 8 + EVO_HISTORY)
            ),
            FieldSpec("history_reference_date", storage(8, "date"), kind="date"),
            FieldSpec("device_datetime", storage(0, "datetime"), kind="datetime"),
        ),
        text_specs=(TextSpec("current_status", _ERRORS, _flags(0xFFFF), default="OK"),),
    )


def _month_end(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def months_back(date: str, months: int) -> str | None:
    """YYYY-MM-DD `months` back; the last day of a month maps to the last day of the result's."""
    try:
        y, m, d = int(date[:4]), int(date[5:7]), int(date[8:10])
    except ValueError:
        return None
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return None
    ny, nm = divmod(y * 12 + m - 1 - months, 12)
    nm += 1
    last = _month_end(ny, nm)
    nd = last if d == _month_end(y, m) else min(d, last)
    return f"{ny:04d}-{nm:02d}-{nd:02d}"


def _evo_history_dates(
    telegram: Telegram, records: dict[bytes, Record], fields: dict[str, object]
) -> dict[str, object]:
    ref = fields.get("history_reference_date")
    if not isinstance(ref, str):
        return {}
    present = {
        r.header.storage
        for r in telegram.records
        if r.header.vif_range == "volume" and r.header.function == "instantaneous"
    }
    return {
        f"history_{s - 7}_date": months_back(ref, s - 8)
        for s in range(8, 8 + EVO_HISTORY)
        if s in present
    }


def evo868() -> SynthDriver:
    return SynthDriver(
        name="evo868",
        base=_evo_base(),
        calc=_evo_history_dates,
        detect=tuple(Detect("MAD", 0x50, t) for t in (0x06, 0x07, 0x16)),
        outputs=tuple(f"history_{k}_date" for k in range(1, EVO_HISTORY + 1)),
    )


def lse_07_17() -> TableDriver:
    return TableDriver(
        name="lse_07_17",
        detect=tuple(
            Detect("LSE", v, t)
            for v, t in ((0x18, 0x06), (0x18, 0x07), (0x16, 0x07), (0x17, 0x07), (0xD8, 0x07))
        ),
        field_specs=(
            FieldSpec("model_version", Match(vif="model version"), kind="text"),
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("due_m3", _m("volume", s=1), unit="m3"),
            FieldSpec("due_date", storage(1, "date"), kind="date"),
            FieldSpec("consumption_at_set_date_8_m3", _m("volume", s=8), unit="m3"),
            FieldSpec("set_date_8", storage(8, "date"), kind="textdate"),
            FieldSpec("error_date", storage(0, "date", function="error"), kind="date"),
            FieldSpec("device_datetime", storage(0, "datetime"), kind="datetime"),
        ),
        text_specs=(TextSpec("error_code", key("02BB56"), _flags(0xFFFF), default="OK"),),
    )
