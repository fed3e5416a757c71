"""The generic OMS driver ("oms"): named fields for any meter from the standard DIF/VIF meaning.

Used for every meter no specific driver claims. Storage 0 is the current value, storage 1 the
value at the set (target) date, as OMS and most vendors use them. Every record, named or not,
is also in the reading's "records" list. No "alarms": a generic meter has no agreed alarm flags.
"""

from __future__ import annotations

from gatewayd.meters.driver import TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, storage

_BACKWARD = (0x3C,)

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("total_m3", storage(0, "volume"), unit="m3"),
    FieldSpec("target_m3", storage(1, "volume"), unit="m3"),
    FieldSpec("total_backward_m3", Match(vif="volume", combinables=_BACKWARD), unit="m3"),
    FieldSpec("total_energy_consumption_kwh", storage(0, "energy"), unit="kwh"),
    FieldSpec("target_energy_kwh", storage(1, "energy"), unit="kwh"),
    FieldSpec(
        "total_energy_production_kwh", Match(vif="energy", combinables=_BACKWARD), unit="kwh"
    ),
    FieldSpec("flow_m3h", storage(0, "volume flow"), unit="m3h"),
    FieldSpec("max_flow_m3h", storage(0, "volume flow", "maximum"), unit="m3h"),
    FieldSpec("power_kw", storage(0, "power"), unit="kw"),
    FieldSpec("max_power_kw", storage(0, "power", "maximum"), unit="kw"),
    FieldSpec("flow_temperature_c", storage(0, "flow temperature"), unit="c"),
    FieldSpec("return_temperature_c", storage(0, "return temperature"), unit="c"),
    FieldSpec("external_temperature_c", storage(0, "external temperature"), unit="c"),
    FieldSpec(
        "flow_return_temperature_difference_c", storage(0, "temperature difference"), unit="c"
    ),
    FieldSpec("pressure_bar", storage(0, "pressure"), unit="bar"),
    FieldSpec("relative_humidity_rh", storage(0, "relative humidity"), unit="rh"),
    FieldSpec("current_consumption_hca", storage(0, "hca"), unit="hca"),
    FieldSpec("set_date_consumption_hca", storage(1, "hca"), unit="hca"),
    FieldSpec("on_time_h", storage(0, "on time"), unit="h"),
    FieldSpec("operating_time_h", storage(0, "operating time"), unit="h"),
    FieldSpec("remaining_battery_life_d", storage(0, "remaining battery"), unit="d"),
    FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
    FieldSpec("meter_date", storage(0, "date"), kind="date"),
    FieldSpec("target_datetime", storage(1, "datetime"), kind="datetime"),
    FieldSpec("target_date", storage(1, "date"), kind="date"),
    FieldSpec("fabrication_no", storage(0, "fabrication no"), kind="text"),
)

STATUS: tuple[StatusSpec, ...] = (
    StatusSpec(Match(vif="error flags"), BitLookup((), unknown="ERROR_FLAGS")),
)


def oms() -> TableDriver:
    return TableDriver(name="oms", field_specs=FIELDS, status_specs=STATUS, tpl_status=True)
