"""Kamstrup heat and cooling meters (wmbusmeters "kamheat"; MULTICAL 302 to 803).

Field names and meanings follow wmbusmeters 3.0. Status comes from Kamstrup's info word
(04FF22, 32-bit, or 02FF22, 16-bit), from the standard error-flags record (FD17, "narrow" bit
layout) and from the TPL status byte of OMS-configured meters (CI 7A).
"""

from __future__ import annotations

from gatewayd.meters.driver import AlarmRule, Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, key, storage

_INFO32 = key("04FF22")
_INFO16 = key("02FF22")
_NARROW = Match(vif="error flags")

_COMMON = (
    "VOLTAGE_INTERRUPTED",
    "LOW_BATTERY_LEVEL",
)
_SENSORS = (
    "SENSOR_T1_ABOVE_MEASURING_RANGE",
    "SENSOR_T2_ABOVE_MEASURING_RANGE",
    "SENSOR_T1_BELOW_MEASURING_RANGE",
    "SENSOR_T2_BELOW_MEASURING_RANGE",
    "TEMP_DIFF_WRONG_POLARITY",
    "FLOW_SENSOR_WEAK_OR_AIR",
    "WRONG_FLOW_DIRECTION",
    "RESERVED_BIT_10",
    "FLOW_INCREASED",
)
# bit n -> name, in bit order
INFO32_NAMES: tuple[str, ...] = (
    *_COMMON,
    "SENSOR_ERROR",
    *_SENSORS,
    "IN_A1_LEAKAGE_IN_THE_SYSTEM",
    "IN_B1_LEAKAGE_IN_THE_SYSTEM",
    "IN_A1_A2_EXTERNAL_ALARM",
    "IN_B1_B2_EXTERNAL_ALARM",
    "V1_COMMUNICATION_ERROR",
    "V1_WRONG_PULSE_FIGURE",
    "IN_A2_LEAKAGE_IN_THE_SYSTEM",
    "IN_B2_LEAKAGE_IN_THE_SYSTEM",
    "T3_ABOVE_MEASURING_RANGE_OR_SWITCHED_OFF",
    "T3_BELOW_MEASURING_RANGE_OR_SWITCHED_OFF",
    "V2_COMMUNICATION_ERROR",
    "V2_WRONG_PULSE_FIGURE",
    "V2_AIR",
    "V2_WRONG_FLOW_DIRECTION",
    "RESERVED_BIT_26",
    "V2_INCREASED_FLOW",
    "V1_V2_BURST_WATER_LOSS",
    "V1_V2_BURST_WATER_PENETRATION",
    "V1_V2_LEAKAGE_WATER_LOSS",
    "V1_V2_LEAKAGE_WATER_PENETRATION",
)
INFO16_NAMES: tuple[str, ...] = (
    *_COMMON,
    "RESERVED_BIT_2",
    *_SENSORS,
    "RESERVED_BIT_12",
    "RESERVED_BIT_13",
    "RESERVED_BIT_14",
    "RESERVED_BIT_15",
)
# FD17 error flags as Kamstrup lays them out (not in bit order)
NARROW_BITS: tuple[tuple[int, str], ...] = (
    (0x0001, "VOLTAGE_INTERRUPTED"),
    (0x0004, "SENSOR_T2_OUTSIDE_MEASURING_RANGE"),
    (0x0008, "SENSOR_T1_OUTSIDE_MEASURING_RANGE"),
    (0x0010, "V1_COMMUNICATION_ERROR"),
    (0x0020, "SENSOR_T3_OUTSIDE_MEASURING_RANGE"),
    (0x0040, "LEAKAGE_COLD_WATER"),
    (0x0080, "V2_WRONG_PULSE_FIGURE"),
    (0x0100, "LEAKAGE_HOT_WATER"),
    (0x0200, "BURST_WATER_LOSS"),
    (0x0400, "V2_COMMUNICATION_ERROR"),
    (0x0800, "V1_WRONG_PULSE_FIGURE"),
    (0x1000, "V1_AIR"),
    (0x2000, "V2_AIR"),
    (0x4000, "V1_WRONG_FLOW_DIRECTION"),
    (0x8000, "V2_WRONG_FLOW_DIRECTION"),
)


def _bits(names: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    return tuple((1 << n, name) for n, name in enumerate(names))


def _mask(names: tuple[str, ...], *wanted: str) -> int:
    return sum(1 << names.index(w) for w in wanted)


STATUS: tuple[StatusSpec, ...] = (
    StatusSpec(_INFO32, BitLookup(_bits(INFO32_NAMES), mask=0xFFFFFFFF)),
    StatusSpec(_INFO16, BitLookup(_bits(INFO16_NAMES), mask=0xFFFF)),
    StatusSpec(_NARROW, BitLookup(NARROW_BITS, mask=0xFFFF)),
)

# Normalised alarms: air in the flow sensor counts as "dry"; Kamstrup heat meters have no tamper.
ALARMS: tuple[AlarmRule, ...] = (
    AlarmRule("dry", _INFO32, _mask(INFO32_NAMES, "FLOW_SENSOR_WEAK_OR_AIR", "V2_AIR")),
    AlarmRule(
        "reverse", _INFO32, _mask(INFO32_NAMES, "WRONG_FLOW_DIRECTION", "V2_WRONG_FLOW_DIRECTION")
    ),
    AlarmRule(
        "leak",
        _INFO32,
        _mask(
            INFO32_NAMES,
            "IN_A1_LEAKAGE_IN_THE_SYSTEM",
            "IN_B1_LEAKAGE_IN_THE_SYSTEM",
            "IN_A2_LEAKAGE_IN_THE_SYSTEM",
            "IN_B2_LEAKAGE_IN_THE_SYSTEM",
            "V1_V2_LEAKAGE_WATER_LOSS",
            "V1_V2_LEAKAGE_WATER_PENETRATION",
        ),
    ),
    AlarmRule(
        "burst",
        _INFO32,
        _mask(INFO32_NAMES, "V1_V2_BURST_WATER_LOSS", "V1_V2_BURST_WATER_PENETRATION"),
    ),
    AlarmRule("dry", _INFO16, _mask(INFO16_NAMES, "FLOW_SENSOR_WEAK_OR_AIR")),
    AlarmRule("reverse", _INFO16, _mask(INFO16_NAMES, "WRONG_FLOW_DIRECTION")),
    AlarmRule("dry", _NARROW, 0x1000 | 0x2000),
    AlarmRule("reverse", _NARROW, 0x4000 | 0x8000),
    AlarmRule("leak", _NARROW, 0x0040 | 0x0100),
    AlarmRule("burst", _NARROW, 0x0200),
)

_SUBUNITS = (1, 4)
_MFCT21 = (0x7F, 0x100 | 0x21)  # manufacturer VIFE 21 after the operating-time VIF

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("total_energy_consumption_kwh", storage(0, "energy"), unit="kwh"),
    FieldSpec("total_energy_backward_kwh", Match(vif="energy", combinables=(0x3C,)), unit="kwh"),
    FieldSpec("total_volume_m3", storage(0, "volume"), unit="m3"),
    FieldSpec(
        "total_volume_subunit{subunit}_m3", Match(vif="volume", subunit=_SUBUNITS), unit="m3"
    ),
    FieldSpec("volume_flow_m3h", storage(0, "volume flow"), unit="m3h"),
    FieldSpec("power_kw", storage(0, "power"), unit="kw"),
    FieldSpec("max_power_kw", storage(0, "power", "maximum"), unit="kw"),
    FieldSpec("t1_temperature_c", storage(0, "flow temperature"), unit="c"),
    FieldSpec("t2_temperature_c", storage(0, "return temperature"), unit="c"),
    FieldSpec("max_flow_m3h", storage(0, "volume flow", "maximum"), unit="m3h"),
    FieldSpec("forward_energy_m3c", key("04FF07"), kind="raw"),
    FieldSpec("return_energy_m3c", key("04FF08"), kind="raw"),
    FieldSpec("target_energy_kwh", storage(1, "energy"), unit="kwh"),
    FieldSpec("target_volume_m3", storage(1, "volume"), unit="m3"),
    FieldSpec(
        "target_volume_subunit{subunit}_m3",
        Match(vif="volume", storage=(1, 1), subunit=_SUBUNITS),
        unit="m3",
    ),
    FieldSpec("operating_time_h", Match(vif="operating time", combinables=_MFCT21), unit="h"),
    FieldSpec("operating_time_h", storage(0, "operating time"), unit="h"),
    FieldSpec("enhanced_id", key("02F9FF15"), kind="hex"),
    FieldSpec("va_counter", key("04EEFF07"), kind="raw"),
    FieldSpec("vb_counter", key("04EEFF08"), kind="raw"),
    FieldSpec("fabrication_no", storage(0, "fabrication no"), kind="text"),
    FieldSpec("meter_date", storage(0, "date"), kind="date"),
    FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
    FieldSpec("on_time_h", storage(0, "on time"), unit="h"),
    FieldSpec("on_time_at_error_h", storage(0, "on time", "error"), unit="h"),
    FieldSpec(
        "flow_return_temperature_difference_c",
        storage(0, "temperature difference"),
        unit="c",
    ),
    FieldSpec("target_date", storage(1, "date"), kind="date"),
)

DETECT: tuple[Detect, ...] = (
    Detect("KAM", 0x30, 0x04),  # MULTICAL 302
    Detect("KAM", 0x30, 0x0D),
    Detect("KAM", 0x30, 0x0C),
    Detect("KAM", 0x40, 0x04),  # MULTICAL 303
    Detect("KAM", 0x40, 0x0C),
    Detect("KAM", 0x40, 0x0D),
    Detect("KAM", 0x19, 0x04),  # MULTICAL 402
    Detect("KAM", 0x34, 0x04),  # MULTICAL 403
    Detect("KAM", 0x34, 0x0A),
    Detect("KAM", 0x34, 0x0B),
    Detect("KAM", 0x34, 0x0C),
    Detect("KAM", 0x34, 0x0D),
    Detect("KAM", 0x1C, 0x04),  # MULTICAL 602
    Detect("KAM", 0x35, 0x04),  # MULTICAL 603
    Detect("KAM", 0x35, 0x0C),
    Detect("KAM", 0x39, 0x04),  # MULTICAL 803
)


def kamheat() -> TableDriver:
    return TableDriver(
        name="kamheat",
        detect=DETECT,
        aliases=(
            "multical302",
            "multical303",
            "multical402",
            "multical403",
            "multical602",
            "multical603",
            "multical803",
        ),
        field_specs=FIELDS,
        status_specs=STATUS,
        tpl_status=True,
        alarm_rules=ALARMS,
    )
