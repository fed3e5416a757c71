"""Kaden heat cost allocators (wmbusmeters "kaden"): standard records, with three durations
in hours: no measurement (04 75, and 44 75 for last year) and tampering (04 74)."""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, key, storage

ERROR_FLAGS = BitLookup(
    ((0x0001, "VOLTAGE_INTERRUPTED"), (0x0004, "SENSOR_T2_OUTSIDE_MEASURING_RANGE"),
     (0x0008, "TAMPERING"), (0x0020, "SENSOR_T3_OUTSIDE_MEASURING_RANGE")),
    mask=0xFFFF,
)  # fmt: skip


def kaden() -> TableDriver:
    return TableDriver(
        name="kaden",
        detect=(Detect("VIP", 0x1E, 0x08),),
        field_specs=(
            FieldSpec("consumption_hca", storage(0, "hca"), unit="hca"),
            FieldSpec("target_hca", storage(1, "hca"), unit="hca"),
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("target_date", storage(1, "date"), kind="date"),
            FieldSpec("fabrication_no", Match(vif="fabrication no"), kind="text"),
            FieldSpec("external_temperature_c", storage(0, "external temperature"), unit="c"),
            FieldSpec("flow_temperature_c", storage(0, "flow temperature"), unit="c"),
            FieldSpec("no_measurement_duration_h", key("0475"), unit="h"),
            FieldSpec("no_measurement_duration_last_year_h", key("4475"), unit="h"),
            FieldSpec("tampering_duration_h", key("0474"), unit="h"),
        ),
        status_specs=(StatusSpec(Match(vif="error flags"), ERROR_FLAGS),),
        tpl_status=True,
    )
