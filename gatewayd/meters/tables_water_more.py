"""More water meters read from standard records, named as wmbusmeters names them: Maddalena
("maddalena"), Zenner Minomess ("minomess"), Diehl/Techem MK Radio 4a ("mkradio4a"), Apator
OP-041A ("op041a") and Zenner IUWS ("uiws").

The Minomess gives the TPL status byte its own meaning (0x08 PERMANENT_ERROR, 0x10
TEMPORARY_ERROR, 0x20 WAS_LEAKING, 0x40 WAS_TAMPERED, 0x80 WAS_REMOVED) and names the bits of
its error flags. The IUWS sends its monthly history as an inverse compact profile at storage
30 (gatewayd/meters/profile.py): value N is target_N, dated N months before target_date;
slots holding 0x80000000 (-2147483.648 m³) hold no value and read as null.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, key
from gatewayd.meters.profile import expand
from gatewayd.meters.synth import SynthDriver
from gatewayd.wmbus.records import Record
from gatewayd.wmbus.telegram import Telegram

_ERRORS = Match(vif="error flags")
_ERROR_FLAGS = BitLookup((), mask=0xFFFF, unknown="ERROR_FLAGS")


def _m(vif: str, s: int = 0, f: str = "instantaneous", c: tuple[int, ...] = ()) -> Match:
    return Match(vif=vif, function=f, storage=(s, s), combinables=c)


TOTAL = FieldSpec("total_m3", _m("volume"), unit="m3")
TARGET = FieldSpec("target_m3", _m("volume", s=1), unit="m3")
TARGET_DATE = FieldSpec("target_date", _m("date", s=1), kind="date")
METER_DATETIME = FieldSpec("meter_datetime", _m("datetime"), kind="minutes")
FABRICATION_NO = FieldSpec("fabrication_no", Match(vif="fabrication no"), kind="text")


def maddalena() -> TableDriver:
    return TableDriver(
        name="maddalena",
        detect=(Detect("MAD", 0x01, 0x07), Detect("MAD", 0x01, 0x06)),
        field_specs=(FABRICATION_NO, METER_DATETIME, TARGET, TARGET_DATE, TOTAL),
        status_specs=(StatusSpec(_ERRORS, _ERROR_FLAGS),),
        tpl_status=True,
    )


MINOMESS_TPL_BITS = (
    (0x08, "PERMANENT_ERROR"), (0x10, "TEMPORARY_ERROR"), (0x20, "WAS_LEAKING"),
    (0x40, "WAS_TAMPERED"), (0x80, "WAS_REMOVED"),
)  # fmt: skip
MINOMESS_ERRORS = BitLookup(
    ((0x8000, "BURSTING"), (0x4000, "REMOVED"), (0x2000, "LEAKING"), (0x1000, "WAS_BACKFLOWING"),
     (0x0800, "BACKFLOWING"), (0x0400, "WAS_BLOCKED"), (0x0200, "UNDERSIZED"),
     (0x0100, "OVERSIZED"), (0x0080, "WAS_REMOVED"), (0x0040, "WAS_TAMPERED"),
     (0x0020, "WAS_LEAKING"), (0x0010, "TEMPORARY_ERROR"), (0x0008, "PERMANENT_ERROR"),
     (0x0004, "BATTERY_EOL"), (0x0002, "ABNORMAL_CONDITION")),
    mask=0xFFFF,
    unknown="ERROR_FLAGS",
)  # fmt: skip
BACKWARD = (0x3C,)


def minomess() -> TableDriver:
    return TableDriver(
        name="minomess",
        detect=(Detect("ZRI", 0x00, 0x07), Detect("ZRI", 0x01, 0x16), Detect("ZRI", 0x01, 0x06)),
        field_specs=(
            TOTAL,
            FieldSpec("meter_date", _m("date"), kind="date_or_empty"),
            METER_DATETIME,
            FABRICATION_NO,
            FieldSpec("operating_time_h", _m("operating time"), unit="h"),
            FieldSpec("on_time_h", _m("on time"), unit="h"),
            FieldSpec("on_time_at_error_h", _m("on time", f="error"), unit="h"),
            FieldSpec("total_backward_m3", _m("volume", c=BACKWARD), unit="m3"),
            FieldSpec("volume_flow_m3h", _m("volume flow"), unit="m3h"),
            # the beginning of this month (storage 8), else the last billing date (storage 1)
            FieldSpec("target_m3", _m("volume", s=8), unit="m3"),
            FieldSpec("target_date", _m("date", s=8), kind="date"),
            TARGET,
            TARGET_DATE,
        ),
        status_specs=(StatusSpec(key("02FD17"), MINOMESS_ERRORS),),
        tpl_status=True,
        tpl_mfct_bits=MINOMESS_TPL_BITS,
    )


def mkradio4a() -> TableDriver:
    return TableDriver(
        name="mkradio4a",
        detect=(Detect("HYD", 0xFE, 0x06), Detect("TCH", 0x95, 0x37)),
        field_specs=(TARGET, TARGET_DATE),
    )


def op041a() -> TableDriver:
    return TableDriver(
        name="op041a",
        detect=(Detect("APA", 0x1A, 0x07),),
        field_specs=(TOTAL, METER_DATETIME),
    )


UIWS_BASE = 30  # the storage number of the profile record, its base value and date
UIWS_SLOTS = range(1, 11)
UIWS_NO_VALUE = -2147483.648  # 0x80000000 litres: a slot or register with no value


def _uiws_records(telegram: Telegram) -> tuple[Record, ...]:
    return expand(telegram.records)


def _uiws_no_values(
    telegram: Telegram, records: dict[bytes, Record], fields: dict[str, object]
) -> dict[str, object]:
    names = ("unknown_m3", *(f"target_{n}_m3" for n in UIWS_SLOTS))
    return {n: None for n in names if fields.get(n) == UIWS_NO_VALUE}


def uiws() -> SynthDriver:
    base = TableDriver(
        name="uiws",
        field_specs=(
            TOTAL,
            METER_DATETIME,
            FieldSpec("flow_temperature_c", _m("flow temperature"), unit="c"),
            FieldSpec("external_temperature_c", _m("external temperature"), unit="c"),
            FieldSpec("unknown_m3", _m("volume", s=1), unit="m3"),
            FieldSpec("target_date", _m("date", s=UIWS_BASE), kind="date"),
            FieldSpec("target_m3", _m("volume", s=UIWS_BASE), unit="m3"),
            *(
                spec
                for n in UIWS_SLOTS
                for spec in (
                    FieldSpec(f"target_{n}_m3", _m("volume", s=UIWS_BASE + n), unit="m3"),
                    FieldSpec(f"target_{n}_date", _m("date", s=UIWS_BASE + n), kind="date"),
                )
            ),
        ),
        status_specs=(StatusSpec(_ERRORS, _ERROR_FLAGS),),
        tpl_status=True,
    )
    return SynthDriver(
        name="uiws",
        base=base,
        records=_uiws_records,
        calc=_uiws_no_values,
        detect=(Detect("ZRI", 0x99, 0x07),),
    )
