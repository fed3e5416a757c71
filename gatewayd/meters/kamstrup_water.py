"""Kamstrup water meters (wmbusmeters driver "kamwater"; aliases multical21, flowiq2200).

MULTICAL 21, flowIQ 2101/2200/3100 and KWM 2230/3230. Field names and meanings follow
wmbusmeters 3.0 (see the shared vectors): storage 1 is "last month / target period", storage 2
"last day". The info codes (16-bit 02FF20 or 32-bit 04FF23) give status, current_status, the
time_* durations and the alarms (kamstrup_codes.py).
"""

from __future__ import annotations

from gatewayd.meters.driver import AlarmRule, Detect, TableDriver
from gatewayd.meters.fields import FieldSpec, Match, StatusSpec, TextSpec, storage
from gatewayd.meters.kamstrup_codes import (
    ACTIVE16,
    ALARM_BITS,
    DURATION_FIELDS,
    INFO16,
    INFO32,
    STATUS32,
)

_INFO16 = Match(difvif=INFO16)
_INFO32 = Match(difvif=INFO32)
_ANY_STORAGE = (0, 255)

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("total_m3", storage(0, "volume"), unit="m3"),
    FieldSpec("target_m3", storage(1, "volume"), unit="m3"),
    FieldSpec("target_date", storage(1, "date"), kind="date"),
    FieldSpec("flow_m3h", storage(0, "volume flow"), unit="m3h"),
    FieldSpec("max_flow_m3h", storage(0, "volume flow", "maximum"), unit="m3h"),
    FieldSpec("max_flow_m3h", storage(2, "volume flow", "maximum"), unit="m3h"),
    FieldSpec("min_flow_m3h", storage(2, "volume flow", "minimum"), unit="m3h"),
    # "flow_temperature" is the minimum water temperature of whichever period the meter sends
    FieldSpec(
        "flow_temperature_c",
        Match(vif="flow temperature", function="minimum", storage=_ANY_STORAGE),
        unit="c",
    ),
    FieldSpec("min_flow_temperature_c", storage(2, "flow temperature", "minimum"), unit="c"),
    FieldSpec("max_flow_temperature_c", storage(2, "flow temperature", "maximum"), unit="c"),
    FieldSpec(
        "min_external_temperature_last_month_c",
        storage(1, "external temperature", "minimum"),
        unit="c",
    ),
    FieldSpec(
        "min_external_temperature_last_day_c",
        storage(2, "external temperature", "minimum"),
        unit="c",
    ),
    FieldSpec(
        "max_external_temperature_c", storage(1, "external temperature", "maximum"), unit="c"
    ),
)

TEXTS: tuple[TextSpec, ...] = (
    TextSpec("current_status", _INFO16, ACTIVE16, default=""),
    *(TextSpec(name, _INFO16, lookup) for name, lookup in DURATION_FIELDS),
)

STATUS: tuple[StatusSpec, ...] = (
    StatusSpec(_INFO16, ACTIVE16),
    StatusSpec(_INFO32, STATUS32),
)

ALARMS: tuple[AlarmRule, ...] = tuple(
    AlarmRule(alarm, match, bit)
    for alarm, bit16, bit32 in ALARM_BITS
    for match, bit in ((_INFO16, bit16), (_INFO32, bit32))
    if bit is not None
)

DETECT: tuple[Detect, ...] = (
    Detect("KAM", 0x1B, 0x06),  # MULTICAL 21, warm
    Detect("KAM", 0x1B, 0x16),  # MULTICAL 21, cold
    Detect("KAW", 0x3A, 0x16),  # flowIQ 2200
    Detect("KAW", 0x3C, 0x16),  # flowIQ 2200
    Detect("KAM", 0x1D, 0x16),  # flowIQ 2200
    Detect("KAW", 0x42, 0x06),  # KWM 2230/3230, warm
    Detect("KAW", 0x42, 0x16),  # KWM 2230/3230, cold
)


def kamwater() -> TableDriver:
    return TableDriver(
        name="kamwater",
        detect=DETECT,
        aliases=("multical21", "flowiq2200", "flowiq2101", "flowiq3100", "kwm"),
        field_specs=FIELDS,
        text_specs=TEXTS,
        status_specs=STATUS,
        tpl_status=True,
        alarm_rules=ALARMS,
    )
