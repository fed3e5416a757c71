"""Heat meters read from standard records, named as wmbusmeters names them: Zenner C5 ISF
("c5isf"), Apator Elf and Elf 2 ("elf", "elf2"), BMeters Hydrocalm 3 ("hydrocalm3"), ista
sensonic 3 ("istaheat") and Itron ("itronheat").

The Elf's model version record (wmbusmeters' "version" field) stays in the record list: a
reading's "version" is the radio link's version number.

The C5 ISF's error word is a sum of decimal codes (20 = dry, 4 = return sensor interrupted: the
word's hex digits read as a decimal number, 0x0024 -> 24), taken apart largest code first. The
Hydrocalm 3 sends several records with the same header and tells them apart by their order.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, key, storage
from gatewayd.meters.synth import SynthDriver
from gatewayd.meters.tplstatus import tpl_status_tokens
from gatewayd.wmbus.records import Record
from gatewayd.wmbus.telegram import Telegram

_ERRORS = Match(vif="error flags")
_PER_MONTH = (0x25,)


def _m(
    vif: str, s: int = 0, t: int = 0, u: int = 0, c: tuple[int, ...] = (), f: str = "instantaneous"
) -> Match:
    return Match(vif=vif, function=f, storage=(s, s), tariff=(t, t), subunit=(u, u), combinables=c)


# ---- Zenner C5 ISF ----

C5ISF_CODES = (
    (2000, "VERIFICATION_EXPIRED"), (1000, "BATTERY_EXPIRED"), (800, "WIRELESS_ERROR"),
    (100, "HARDWARE_ERROR3"), (50, "VALUE_OVERLOAD"), (40, "AIR_INSIDE"), (30, "REVERSE_FLOW"),
    (20, "DRY"), (10, "ERROR_MEASURING"), (9, "HARDWARE_ERROR2"), (8, "HARDWARE_ERROR1"),
    (7, "LOW_BATTERY"), (6, "SUPPLY_SENSOR_INTERRUPTED"), (5, "SHORT_CIRCUIT_SUPPLY_SENSOR"),
    (4, "RETURN_SENSOR_INTERRUPTED"), (3, "SHORT_CIRCUIT_RETURN_SENSOR"), (2, "TEMP_ABOVE_RANGE"),
    (1, "TEMP_BELOW_RANGE"),
)  # fmt: skip
C5ISF_MODULO = 9999
C5ISF_MONTHS = range(32, 46)  # storages of the previous months 1-14


def decimal_codes(digits: str) -> list[str]:
    """The C5 ISF error codes a word's digits add up to (their leading decimal digits)."""
    lead = ""
    for ch in digits:
        if not ch.isdigit():
            break
        lead += ch
    rest = int(lead) % C5ISF_MODULO if lead else 0
    out: list[str] = []
    for code, name in C5ISF_CODES:
        if rest >= code:
            out.append(name)
            rest -= code
    if rest:
        out.append(f"ERROR_FLAGS_{rest}")
    return out


def _c5isf_status(
    telegram: Telegram, records: dict[bytes, Record], fields: dict[str, object]
) -> dict[str, object]:
    tokens = tpl_status_tokens(telegram.tpl.status) if telegram.tpl is not None else []
    for r in telegram.records:
        if _ERRORS.matches(r.header):
            tokens += decimal_codes(r.raw[::-1].hex())
            break
    return {"status": " ".join(sorted(set(tokens))) if tokens else "OK"}


def c5isf() -> SynthDriver:
    base = TableDriver(
        name="c5isf",
        field_specs=(
            FieldSpec("total_energy_consumption_kwh", _m("energy"), unit="kwh"),
            FieldSpec("total_cooling_consumption_kwh", _m("energy", t=1), unit="kwh"),
            FieldSpec("total_volume_m3", _m("volume"), unit="m3"),
            *(
                spec
                for s in C5ISF_MONTHS
                for spec in (
                    FieldSpec(f"prev_{s - 31}_month_date", storage(s, "date"), kind="date"),
                    FieldSpec(f"prev_{s - 31}_month_kwh", _m("energy", s=s), unit="kwh"),
                    FieldSpec(f"prev_{s - 31}_month_m3", _m("volume", s=s), unit="m3"),
                )
            ),
            FieldSpec("due_energy_consumption_kwh", _m("energy", s=8), unit="kwh"),
            FieldSpec("due_date", storage(8, "date"), kind="date"),
            FieldSpec("volume_flow_m3h", _m("volume flow"), unit="m3h"),
            FieldSpec("power_kw", _m("power"), unit="kw"),
            FieldSpec("total_energy_consumption_last_month_kwh", _m("energy", s=32), unit="kwh"),
            FieldSpec("last_month_datetime", storage(0, "datetime"), kind="datetime"),
            # kW per month: the record's own unit, not converted
            FieldSpec("max_power_last_month_kw", _m("power", s=32, c=_PER_MONTH, f="maximum")),
            FieldSpec("flow_temperature_c", _m("flow temperature"), unit="c"),
            FieldSpec("return_temperature_c", _m("return temperature"), unit="c"),
        ),
        tpl_status=True,
    )
    return SynthDriver(
        name="c5isf",
        base=base,
        calc=_c5isf_status,
        detect=tuple(Detect("ZRI", 0x88, t) for t in (0x0D, 0x07, 0x04)),
    )


# ---- Apator Elf, Elf 2 ----


def elf() -> TableDriver:
    return TableDriver(
        name="elf",
        detect=(Detect("APA", 0x40, 0x04),),
        field_specs=(
            FieldSpec("meter_date", storage(0, "date"), kind="date"),
            FieldSpec("total_energy_consumption_kwh", _m("energy"), unit="kwh"),
            FieldSpec("current_power_consumption_kw", _m("power"), unit="kw"),
            FieldSpec("total_volume_m3", _m("volume"), unit="m3"),
            FieldSpec("total_energy_consumption_at_date_kwh", _m("energy", s=1), unit="kwh"),
            FieldSpec("flow_temperature_c", _m("flow temperature"), unit="c"),
            FieldSpec("return_temperature_c", _m("return temperature"), unit="c"),
            FieldSpec("external_temperature_c", _m("external temperature"), unit="c"),
            FieldSpec("operating_time_h", _m("operating time"), unit="h"),
            FieldSpec("battery_v", _m("voltage"), unit="v"),
        ),
        status_specs=(
            StatusSpec(key("047F"), BitLookup((), mask=0xFFFFFFFF, unknown="ERROR_FLAGS")),
        ),
        tpl_status=True,
    )


ELF2_FLAGS = BitLookup(
    ((0x0001, "MINIMUM_FLOW"), (0x0002, "FLOW_METER_FAILURE"), (0x0004, "RETURN_TEMPERATURE_ERROR"),
     (0x0008, "SUPPLY_TEMPERATURE_ERROR"), (0x0010, "DIFFERENTIAL_TEMPERATURE_ERROR"),
     (0x0020, "MAXIMUM_FLOW"), (0x0040, "MEMORY_FAILURE"), (0x0080, "LOW_BATTERY_VOLTAGE"),
     (0x0100, "DAILY_ABNORMAL_NOMINAL_FLOW"), (0x0200, "ANNUAL_ABNORMAL_NOMINAL_FLOW"),
     (0x0400, "DIFFERENTIAL_TEMPERATURE_TOO_LOW"), (0x0800, "CRC_ERROR"), (0x1000, "FLASH_ERROR"),
     (0x2000, "CRITICAL_BATTERY_VOLTAGE"), (0x4000, "CPU_OVERTEMPERATURE"),
     (0x8000, "UART_LIMIT_OVERRUN")),
    mask=0xFFFF,
    unknown="ERROR_FLAGS",
)  # fmt: skip


def elf2() -> TableDriver:
    return TableDriver(
        name="elf2",
        detect=(Detect("APA", 0x42, 0x04), Detect("APA", 0x42, 0x0D)),
        field_specs=(
            FieldSpec("fabrication_no", Match(vif="fabrication no"), kind="text"),
            FieldSpec("on_time_h", _m("on time"), unit="h"),
            FieldSpec("on_time_at_error_h", _m("on time", f="error"), unit="h"),
            FieldSpec("meter_date", storage(0, "date"), kind="date"),
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("t2_temperature_c", _m("return temperature"), unit="c"),
            FieldSpec("t1_temperature_c", _m("flow temperature"), unit="c"),
            FieldSpec("current_power_kw", _m("power"), unit="kw"),
            FieldSpec("current_volume_flow_m3h", _m("volume flow"), unit="m3h"),
            FieldSpec("total_volume_m3", _m("volume"), unit="m3"),
            FieldSpec("total_volume_cooling_m3", _m("volume", u=1), unit="m3"),
            FieldSpec("input1_volume_m3", _m("volume", t=1), unit="m3"),
            FieldSpec("input2_volume_m3", _m("volume", t=2), unit="m3"),
            FieldSpec("total_energy_kwh", _m("energy"), unit="kwh"),
            FieldSpec("total_energy_cooling_kwh", _m("energy", u=1), unit="kwh"),
            FieldSpec("total_energy_period_kwh", _m("energy", s=1), unit="kwh"),
            FieldSpec("total_energy_cooling_period_kwh", _m("energy", s=1, u=1), unit="kwh"),
        ),
        status_specs=(StatusSpec(_ERRORS, ELF2_FLAGS),),
        tpl_status=True,
    )


# ---- BMeters Hydrocalm 3 ----


# (field, match, unit, which occurrence of a matching record: 1 = the first)
def hydrocalm3() -> TableDriver:
    # the meter sends heating before cooling, each as energy and volume, then the volumes of
    # its two pulse inputs; only their order tells them apart
    return TableDriver(
        name="hydrocalm3",
        detect=(Detect("BMT", 0x0B, 0x0D),),
        field_specs=(
            FieldSpec("device_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("return_temperature_c", _m("return temperature"), unit="c"),
            FieldSpec("total_heating_kwh", _m("energy"), unit="kwh"),
            FieldSpec("total_cooling_kwh", _nth("energy", 2), unit="kwh"),
            FieldSpec("total_heating_m3", _m("volume"), unit="m3"),
            FieldSpec("total_cooling_m3", _nth("volume", 2), unit="m3"),
            FieldSpec("c1_volume_m3", _nth("volume", 3), unit="m3"),
            FieldSpec("c2_volume_m3", _nth("volume", 4), unit="m3"),
            FieldSpec("supply_temperature_c", _m("flow temperature"), unit="c"),
        ),
        tpl_status=True,
        tpl_mfct_bits=((0x80, "SABOTAGE_ENCLOSURE"),),
    )


def _nth(vif: str, index: int) -> Match:
    """The index-th instantaneous storage-0 record of this VIF range, in telegram order."""
    return Match(vif=vif, index=index)


# ---- ista sensonic 3, Itron heat ----


def istaheat() -> TableDriver:
    return TableDriver(
        name="istaheat",
        detect=(Detect("IST", 0xA9, 0x04),),
        field_specs=(
            FieldSpec("total_kwh", _m("energy"), unit="kwh"),
            FieldSpec("target_date", storage(2, "date"), kind="date"),
            FieldSpec("target_kwh", _m("energy", s=2), unit="kwh"),
            FieldSpec("target_m3", _m("volume", s=2), unit="m3"),
            FieldSpec("last_year_date", storage(1, "date"), kind="date"),
            FieldSpec("last_year_kwh", _m("energy", s=1), unit="kwh"),
        ),
        tpl_status=True,
    )


def itronheat() -> TableDriver:
    return TableDriver(
        name="itronheat",
        detect=(Detect("ITW", 0x00, 0x04),),
        field_specs=(
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("total_kwh", _m("energy"), unit="kwh"),
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("last_year_date", storage(1, "date"), kind="date"),
            FieldSpec("last_year_kwh", _m("energy", s=1), unit="kwh"),
        ),
        tpl_status=True,
    )
