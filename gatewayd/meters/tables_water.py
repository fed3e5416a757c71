"""Water meters read from standard records only, named as wmbusmeters names them: Axioma
Q400 ("q400"), Apator Ultrimis ("ultrimis", "ultrimisv2"), DWZ/Engelmann WaterStar M
("waterstarm"), Itron ("itron"), Kaden ("kadenwater"), BMeters IWM-TX5 ("iwmtx5"), Ecomess
Picoflux ("picoflux"), Sensus iPERL ("iperl"), ista ("istawater"), Aventies ("aventieswm"),
WEH ("weh_07") and Sontex Supercom 587 ("supercom587").

Storage 1 is the set (billing) date unless a driver says otherwise; combinable VIFE 3B / 3C
mark forward / backward flow.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import (
    BitLookup,
    FieldSpec,
    Match,
    StatusSpec,
    TextSpec,
    key,
    storage,
)
from gatewayd.meters.synth import SynthDriver
from gatewayd.wmbus.records import Record
from gatewayd.wmbus.telegram import Telegram

_FORWARD, _BACKWARD = (0x3B,), (0x3C,)
_ERRORS = Match(vif="error flags")
_NO_NAMES = BitLookup((), mask=0xFFFF, unknown="ERROR_FLAGS")


def _m(vif: str, s: int = 0, t: int = 0, u: int = 0, c: tuple[int, ...] = ()) -> Match:
    return Match(vif=vif, storage=(s, s), tariff=(t, t), subunit=(u, u), combinables=c)


def q400() -> TableDriver:
    return TableDriver(
        name="q400",
        detect=tuple(Detect("AXI", v, 0x07) for v in (0x01, 0x10, 0x20)),
        field_specs=(
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("on_time_h", _m("on time"), unit="h"),
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("total_forward_m3", _m("volume", c=_FORWARD), unit="m3"),
            FieldSpec("total_backward_m3", _m("volume", c=_BACKWARD), unit="m3"),
            FieldSpec("flow_temperature_c", _m("flow temperature"), unit="c"),
            FieldSpec("volume_flow_m3h", _m("volume flow"), unit="m3h"),
            FieldSpec("set_datetime", storage(1, "datetime"), kind="datetime"),
            FieldSpec("consumption_at_set_date_m3", _m("volume", s=1), unit="m3"),
            FieldSpec("forward_at_set_date_m3", _m("volume", s=1, c=_FORWARD), unit="m3"),
            FieldSpec("backward_at_set_date_m3", _m("volume", s=1, c=_BACKWARD), unit="m3"),
            FieldSpec("error_free_time_h", _m("operating time"), unit="h"),
            FieldSpec("error_code_counter", key("34FD17"), kind="raw"),
            FieldSpec("battery_pct", key("01FD74"), kind="raw"),
        ),
        tpl_status=True,
    )


def _monthly_flags() -> BitLookup:
    names = ("TAMPER", "LOW_BATTERY", "DRY", "NO_FLOW", "HIGH_TEMPERATURE", "BURST", "REVERSE",
             "LEAK")  # fmt: skip
    bits = []
    for shift, suffix in ((0, ""), (8, "_THIS_MONTH"), (16, "_PREV_MONTH")):
        bits += [(1 << (shift + i), name + suffix) for i, name in enumerate(names)]
    return BitLookup(tuple(bits), mask=0xFFFFFF)


def ultrimisv2() -> TableDriver:
    return TableDriver(
        name="ultrimisv2",
        detect=(Detect("APA", 0x01, 0x16), Detect("APA", 0x20, 0x16)),
        field_specs=(
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("target_m3", _m("volume", s=1), unit="m3"),
            FieldSpec("total_backward_m3", _m("volume", c=_BACKWARD), unit="m3"),
        ),
        status_specs=(StatusSpec(key("03FD17"), _monthly_flags()),),
    )


WATERSTAR_FLAGS = BitLookup(
    ((0x01, "SW_ERROR"), (0x02, "CRC_ERROR"), (0x04, "SENSOR_ERROR"), (0x08, "MEASUREMENT_ERROR"),
     (0x10, "BATTERY_VOLTAGE_ERROR"), (0x20, "MANIPULATION"), (0x40, "LEAKAGE_OR_NO_USAGE"),
     (0x80, "REVERSE_FLOW"), (0x100, "OVERLOAD")),
    mask=0xFFFF,
)  # fmt: skip
WATERSTAR_MVTS = (
    ("DWZ", 0x00, 0x06), ("DWZ", 0x02, 0x06), ("DWZ", 0x02, 0x07), ("EFE", 0x03, 0x07),
    ("EFE", 0x70, 0x07), ("DWZ", 0x00, 0x07),
)  # fmt: skip


def waterstarm() -> SynthDriver:
    base = TableDriver(
        name="waterstarm",
        field_specs=(
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("battery_v", _m("voltage"), unit="v"),
            FieldSpec("total_backwards_m3", _m("volume", c=_BACKWARD), unit="m3"),
            FieldSpec("meter_version", Match(vif="model version"), kind="hex"),
            FieldSpec("parameter_set", Match(vif="parameter set id"), kind="hex"),
            FieldSpec("set_date", storage(1, "date"), kind="date"),
            FieldSpec("consumption_at_set_date_m3", _m("volume", s=1), unit="m3"),
            FieldSpec("total_backwards_at_set_date_m3", _m("volume", s=1, c=_BACKWARD), unit="m3"),
            *(
                FieldSpec(f"consumption_at_history_{n - 1}_m3", _m("volume", s=n), unit="m3")
                for n in range(2, 17)
            ),
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
        ),
        status_specs=(StatusSpec(_ERRORS, WATERSTAR_FLAGS),),
        tpl_status=True,
    )
    return SynthDriver(
        name="waterstarm",
        base=base,
        calc=_history_dates,
        detect=tuple(Detect(m, v, t) for m, v, t in WATERSTAR_MVTS),
        outputs=tuple(f"history_{k}_date" for k in range(1, HISTORY + 1)),
    )


HISTORY = 15


def _months_back(date: str, k: int) -> str | None:
    y, m, d = int(date[:4]), int(date[5:7]), int(date[8:10])
    total = y * 12 + (m - 1) - k
    y, m = divmod(total, 12)
    m += 1
    last = (
        (28 if m == 2 and (y % 4 or (y % 100 == 0 and y % 400)) else 29)
        if m == 2
        else (30 if m in (4, 6, 9, 11) else 31)
    )
    return f"{y:04d}-{m:02d}-{min(d, last):02d}"


def _history_dates(
    telegram: Telegram, records: dict[bytes, Record], fields: dict[str, object]
) -> dict[str, object]:
    """The date of history value k (storage k + 1): the meter's date, k months back."""
    now = fields.get("meter_datetime")
    if not isinstance(now, str):
        return {}
    present = {r.header.storage for r in telegram.records if r.header.vif_range == "volume"}
    return {
        f"history_{k}_date": _months_back(now, k) for k in range(1, HISTORY + 1) if k + 1 in present
    }


def itron() -> TableDriver:
    return TableDriver(
        name="itron",
        detect=tuple(Detect("ITW", v, t) for v, t in ((0x00, 0x07), (0x03, 0x07), (0x33, 0x07),
                                                       (0x00, 0x16))),
        field_specs=(
            FieldSpec("enhanced_id", Match(vif="enhanced id"), kind="hex"),
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("total_backward_m3", _m("volume", c=_BACKWARD), unit="m3"),
            FieldSpec("volume_flow_m3h", _m("volume flow"), unit="m3h"),
            FieldSpec("target_m3", _m("volume", s=1), unit="m3"),
            FieldSpec("target_date", storage(1, "date"), kind="date"),
        ),
        text_specs=(
            TextSpec("unknowna", key("047F"), BitLookup((), unknown="WOOTA")),
            TextSpec("unknownb", key("027F"), BitLookup((), mask=0xFFFF, unknown="WOOTB")),
        ),
        status_specs=(
            StatusSpec(Match(vif="error flags", combinables=(0x17,)),
                       BitLookup((), mask=0xFFFFFF, unknown="ERROR_FLAGS")),
        ),
        tpl_status=True,
    )  # fmt: skip


def kadenwater() -> TableDriver:
    # the Kaden meter sends the volume and the actuality duration twice; the second ones are
    # volume_b and duration_b
    return TableDriver(
        name="kadenwater",
        detect=(Detect("KDN", 0x01, 0x07), Detect("VIP", 0x01, 0x07)),
        field_specs=(
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("volume_flow_m3h", _m("volume flow"), unit="m3h"),
            FieldSpec("actuality_duration_s", _m("actuality duration"), unit="s"),
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("fabrication_no", Match(vif="fabrication no"), kind="text"),
            FieldSpec("max_flow_m3h", storage(0, "volume flow", "maximum"), unit="m3h"),
            FieldSpec("volume_b_m3", Match(vif="volume", index=2), unit="m3"),
            FieldSpec("duration_b_s", Match(vif="actuality duration", index=2), unit="s"),
        ),
        status_specs=(StatusSpec(_ERRORS, _NO_NAMES),),
        tpl_status=True,
        tpl_mfct_bits=((0x20, "LEAK_FLOW_LOW"), (0x40, "LEAK_FLOW_HIGH")),
    )


def iwmtx5() -> TableDriver:
    return TableDriver(
        name="iwmtx5",
        detect=(Detect("BMT", 0x18, 0x07), Detect("BMT", 0x18, 0x06)),
        field_specs=(
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("total_m3", _m("volume"), unit="m3"),
        ),
        tpl_status=True,
        tpl_mfct_bits=((0x40, "TAMPER"),),
    )


def picoflux() -> TableDriver:
    return TableDriver(
        name="picoflux",
        detect=(Detect("ECM", 0x05, 0x07),),
        field_specs=(
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("total_backward_m3", _m("volume", c=_BACKWARD), unit="m3"),
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("actuality_duration_s", _m("actuality duration"), unit="s"),
        ),
        status_specs=(StatusSpec(_ERRORS, _NO_NAMES),),
        tpl_status=True,
        tpl_mfct_bits=((0x20, "LEAK_FLOW_LOW"), (0x40, "LEAK_FLOW_HIGH")),
    )


def supercom587() -> TableDriver:
    return TableDriver(
        name="supercom587",
        detect=(Detect("SON", 0x3C, 0x06), Detect("SON", 0x3C, 0x07)),
        field_specs=(
            FieldSpec("software_version", Match(vif="software version"), kind="text"),
            FieldSpec("total_m3", _m("volume"), unit="m3"),
        ),
        status_specs=(StatusSpec(_ERRORS, BitLookup((), mask=0x000F, unknown="ERROR_FLAGS")),),
        tpl_status=True,
    )


def iperl() -> TableDriver:
    return TableDriver(
        name="iperl",
        detect=tuple(Detect("SEN", v, t) for v, t in ((0x68, 0x06), (0x68, 0x07), (0x7C, 0x07))),
        field_specs=(
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("max_flow_m3h", _m("volume flow"), unit="m3h"),
        ),
    )


def istawater() -> TableDriver:
    return TableDriver(
        name="istawater",
        detect=(Detect("IST", 0x31, 0x07),),
        field_specs=(
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("target_m3", _m("volume", s=2), unit="m3"),
            FieldSpec("target_date", storage(2, "date"), kind="date"),
        ),
    )


ULTRIMIS_FLAGS = BitLookup(
    ((0x01, "TAMPER"), (0x02, "LOW_BATTERY"), (0x04, "DRY"), (0x08, "NO_FLOW"),
     (0x10, "HIGH_TEMPERATURE"), (0x20, "BURST"), (0x40, "REVERSE"), (0x80, "LEAK")),
    mask=0xFFFFFF,
)  # fmt: skip


def ultrimis() -> TableDriver:
    return TableDriver(
        name="ultrimis",
        field_specs=(
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("target_m3", _m("volume", s=1), unit="m3"),
            FieldSpec("total_backward_flow_m3", key("04933C"), unit="m3"),
        ),
        text_specs=(TextSpec("current_status", key("03FD17"), ULTRIMIS_FLAGS, default="OK"),),
    )


AVENTIES_FLAGS = BitLookup(
    ((0x0001, "MEASUREMENT"), (0x0002, "SABOTAGE"), (0x0004, "BATTERY"), (0x0008, "CS"),
     (0x0010, "HF"), (0x0020, "RESET")),
    mask=0xFFFF,
    unknown="ERROR_FLAGS",
)  # fmt: skip


def aventieswm() -> TableDriver:
    return TableDriver(
        name="aventieswm",
        detect=(Detect("AAA", 0x25, 0x07),),
        field_specs=(
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            *(
                FieldSpec(f"consumption_at_set_date_{n}_m3", _m("volume", s=n), unit="m3")
                for n in range(1, 15)
            ),
        ),
        text_specs=(TextSpec("error_flags", _ERRORS, AVENTIES_FLAGS, default=""),),
        status_specs=(StatusSpec(_ERRORS, AVENTIES_FLAGS),),
        tpl_status=True,
    )


def weh_07() -> TableDriver:
    return TableDriver(
        name="weh_07",
        detect=(Detect("WEH", 0xFE, 0x07), Detect("WEH", 0x03, 0x07)),
        field_specs=(
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("target_date", storage(1, "date"), kind="date"),
            FieldSpec("target_m3", _m("volume", s=1), unit="m3"),
        ),
    )
