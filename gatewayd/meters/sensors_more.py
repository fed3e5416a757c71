"""Room sensors, a repeater, a gas meter and heat cost allocators read from standard records,
named as wmbusmeters names them: Elvaco CMa12w and Sense ("cma12w", "elvsense"), the Lansen
repeater ("lansenrp"), Diehl Aerius gas meter ("aerius"), EFE/Engelmann HCA-e2 ("hcae2") and
Qundis/Leistungselektronik HCA ("lse_08").

The HCA-e2 sends, in storages 2-31, thirty half-monthly differences (storage 31 the newest:
delta_1_half_months_ago_hca), not readings.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import (
    BitLookup,
    FieldSpec,
    IndexLookup,
    Match,
    StatusSpec,
    TextSpec,
    key,
    storage,
)

_BASE_CONDITIONS = (0x3E,)  # combinable VIFE: value at base conditions
_FUTURE = (0x7E,)  # combinable VIFE: future value


def _m(
    vif: str, s: int = 0, u: int = 0, c: tuple[int, ...] = (), f: str = "instantaneous"
) -> Match:
    return Match(vif=vif, function=f, storage=(s, s), subunit=(u, u), combinables=c)


def cma12w() -> TableDriver:
    return TableDriver(
        name="cma12w",
        detect=(Detect("ELV", 0x20, 0x1B),),
        field_specs=(
            FieldSpec("software_version", Match(vif="software version"), kind="text"),
            FieldSpec("current_temperature_c", _m("external temperature"), unit="c"),
            FieldSpec("average_temperature_1h_c", _m("external temperature", s=1), unit="c"),
        ),
        text_specs=(
            TextSpec("battery", _m("digital input"), BitLookup((), mask=0xFFFF, unknown="BATTERY")),
        ),
        tpl_status=True,
    )


ELVSENSE_VERSIONS = (0x50, 0x51, 0x52, 0x53, 0x54)  # the Sense 100W (wmbusmeters lists no others)


def elvsense() -> TableDriver:
    return TableDriver(
        name="elvsense",
        detect=tuple(Detect("ELV", v, 0x1B) for v in ELVSENSE_VERSIONS),
        field_specs=(
            FieldSpec("temperature_c", _m("external temperature"), unit="c"),
            FieldSpec("battery_v", _m("voltage"), unit="v"),
            FieldSpec("humidity_rh", _m("relative humidity"), unit="rh"),
            FieldSpec("co2_ppm", key("027C03324F43"), kind="raw"),  # plain-text unit "CO2"
        ),
        tpl_status=True,
    )


WEEKDAYS = BitLookup(
    ((0x01, "SU"), (0x02, "MO"), (0x04, "TU"), (0x08, "WE"), (0x10, "TH"), (0x20, "FR"),
     (0x40, "SA")),
    mask=0xFFFF,
    unknown="INPUT_BITS",
)  # fmt: skip


def lansenrp() -> TableDriver:
    return TableDriver(
        name="lansenrp",
        detect=(Detect("LAS", 0x0B, 0x32),),
        field_specs=(
            FieldSpec("software_version", Match(vif="software version"), kind="text"),
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("battery_v", _m("voltage"), unit="v"),
            FieldSpec("total_routed_messages_counter", _m("dimensionless"), unit="counter"),
            FieldSpec("used_router_slots_counter", _m("dimensionless", u=1), unit="counter"),
            FieldSpec("seconds_to_mode_change_counter", _m("dimensionless", u=3), unit="counter"),
            FieldSpec("listen_timer_value_counter", _m("dimensionless", s=1), unit="counter"),
            FieldSpec("pause_timer_value_counter", _m("dimensionless", s=2), unit="counter"),
            FieldSpec("start_time_value_counter", _m("dimensionless", s=4), unit="counter"),
        ),
        text_specs=(
            TextSpec(
                "is_repeater_listening", _m("dimensionless", u=2), IndexLookup(0x01, ("NO", "YES"))
            ),
            TextSpec("repeater_listening_on_weekdays", _m("dimensionless", s=3), WEEKDAYS),
        ),
        tpl_status=True,
    )


def aerius() -> TableDriver:
    return TableDriver(
        name="aerius",
        detect=(Detect("DME", 0x30, 0x03),),
        field_specs=(
            FieldSpec("total_m3", _m("volume", c=_BASE_CONDITIONS), unit="m3"),
            FieldSpec("flow_m3h", _m("volume flow"), unit="m3h"),
            FieldSpec("temperature_c", _m("flow temperature"), unit="c"),
            FieldSpec("target_datetime", storage(3, "datetime"), kind="datetime"),
            FieldSpec("target_m3", _m("volume", s=3, c=_BASE_CONDITIONS), unit="m3"),
        ),
    )


HCAE2_FLAGS = BitLookup(
    ((0x01, "MEMORY_ERROR"), (0x02, "UNEXPECTED_RST"), (0x04, "ANNO_10_11"), (0x08, "OPEN_C"),
     (0x10, "SENSOR_BREAK"), (0x20, "SENSOR_SHORT"), (0x40, "WDT"), (0x80, "REMOTE_SENSOR")),
    mask=0xFF,
    unknown="ERROR_FLAGS",
)  # fmt: skip
HCAE2_DELTAS = range(2, 32)  # storages: delta (32 - storage) half months ago


def hcae2() -> TableDriver:
    return TableDriver(
        name="hcae2",
        detect=(Detect("EFE", 0x31, 0x08),),
        field_specs=(
            FieldSpec("consumption_hca", _m("hca"), unit="hca"),
            FieldSpec("target_hca", _m("hca", s=1), unit="hca"),
            FieldSpec("target_date", storage(1, "date"), kind="date"),
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec(
                "meter_datetime_at_error", storage(0, "datetime", function="error"), "textdate"
            ),
            FieldSpec("current_consumption_hca", _m("hca"), unit="hca"),
            FieldSpec("consumption_at_set_date_1_hca", _m("hca", s=1), unit="hca"),
            FieldSpec("half_month_history_start_date", storage(2, "date"), kind="date"),
            *(
                FieldSpec(f"delta_{32 - s}_half_months_ago_hca", _m("hca", s=s), unit="hca")
                for s in HCAE2_DELTAS
            ),
        ),
        status_specs=(StatusSpec(key("317F"), HCAE2_FLAGS),),
        tpl_status=True,
    )


def lse_08() -> TableDriver:
    return TableDriver(
        name="lse_08",
        detect=(Detect("LSE", 0x01, 0x08),),
        field_specs=(
            FieldSpec("current_consumption_hca", _m("hca"), unit="hca"),
            FieldSpec("set_date", storage(8, "date"), kind="date"),
            FieldSpec("consumption_at_set_date_hca", _m("hca", s=8), unit="hca"),
            FieldSpec("device_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec(
                "duration_since_readout_h", _m("duration since readout", c=_FUTURE), unit="h"
            ),
            FieldSpec("model_version", Match(vif="model version"), kind="text"),
        ),
        status_specs=(StatusSpec(key("01FD73"), BitLookup((), mask=0xFF, unknown="ERROR_FLAGS")),),
        tpl_status=True,
    )
