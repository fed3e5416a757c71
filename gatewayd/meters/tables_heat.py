"""Heat, electricity and room meters read from standard records only, named as wmbusmeters
names them: BMeters Hydrocalm 4 ("hydrocalm4"), Diehl Sharky 774 ("sharky774"), Axioma
Qualcosonic ("qualcosonic"), Landis+Gyr Ultraheat ("ultraheat"), Apator/Devolo/NES
electricity meters ("amiplus") and Lansen sensors ("lansenth", "lansenpu").

Tariff 1 on the Hydrocalm 4 and Sharky is cooling; combinable VIFE 3B / 3C mark forward /
backward flow (Qualcosonic: heating / cooling energy), 7C 0n phase n.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.meters.fields import BitLookup, FieldSpec, Match, StatusSpec, key, storage

_FORWARD, _BACKWARD = (0x3B,), (0x3C,)
_ERRORS = Match(vif="error flags")
_NO_NAMES = BitLookup((), mask=0xFFFF, unknown="ERROR_FLAGS")


def _m(vif: str, s: int = 0, t: int = 0, u: int = 0, c: tuple[int, ...] = ()) -> Match:
    return Match(vif=vif, storage=(s, s), tariff=(t, t), subunit=(u, u), combinables=c)


def hydrocalm4() -> TableDriver:
    return TableDriver(
        name="hydrocalm4",
        detect=(Detect("BMT", 0x1A, 0x0D),),
        field_specs=(
            FieldSpec("total_heating_kwh", _m("energy"), unit="kwh"),
            FieldSpec("device_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("total_cooling_kwh", _m("energy", t=1), unit="kwh"),
            FieldSpec("total_heating_m3", _m("volume"), unit="m3"),
            FieldSpec("total_cooling_m3", _m("volume", t=1), unit="m3"),
            FieldSpec("c1_volume_m3", _m("volume", u=1), unit="m3"),
            FieldSpec("c2_volume_m3", _m("volume", u=2), unit="m3"),
            FieldSpec("supply_temperature_c", _m("flow temperature"), unit="c"),
            FieldSpec("return_temperature_c", _m("return temperature"), unit="c"),
            FieldSpec("volume_flow_m3h", _m("volume flow"), unit="m3h"),
            FieldSpec("power_kw", _m("power"), unit="kw"),
        ),
        status_specs=(StatusSpec(_ERRORS, _NO_NAMES),),
        tpl_status=True,
    )


AMIPLUS_MVTS = (
    ("APA", 0x02, 0x02), ("DEV", 0x02, 0x37), ("DEV", 0x00, 0x02), ("DEV", 0x01, 0x02),
    ("NES", 0x03, 0x02), ("APA", 0x01, 0x02), ("APT", 0x01, 0x02),
)  # fmt: skip


def amiplus() -> TableDriver:
    return TableDriver(
        name="amiplus",
        detect=tuple(Detect(m, v, t) for m, v, t in AMIPLUS_MVTS),
        field_specs=(
            FieldSpec("total_energy_consumption_kwh", _m("energy"), unit="kwh"),
            FieldSpec("current_power_consumption_kw", _m("power"), unit="kw"),
            FieldSpec("total_energy_production_kwh", key("0E833C"), unit="kwh"),
            FieldSpec("current_power_production_kw", key("0BAB3C"), unit="kw"),
            *(
                FieldSpec(f"voltage_at_phase_{n}_v", _m("voltage", c=(0x7C, n)), unit="v")
                for n in (1, 2, 3)
            ),
            FieldSpec("device_datetime", storage(0, "datetime"), kind="minutes"),
            *(
                FieldSpec(f"total_energy_consumption_tariff_{n}_kwh", _m("energy", t=n), unit="kwh")
                for n in (1, 2, 3)
            ),
            *(
                FieldSpec(f"total_energy_production_tariff_{n}_kwh", key(f"8E{n}0833C"), unit="kwh")
                for n in (1, 2, 3)
            ),
            FieldSpec("max_power_consumption_kw", storage(0, "power", "maximum"), unit="kw"),
        ),
    )


def sharky774() -> TableDriver:
    return TableDriver(
        name="sharky774",
        detect=tuple(Detect("DME", 0x41, t) for t in (0x04, 0x0D, 0x0C)),
        field_specs=(
            FieldSpec("total_energy_consumption_kwh", _m("energy"), unit="kwh"),
            FieldSpec("total_cooling_consumption_kwh", _m("energy", t=1), unit="kwh"),
            FieldSpec("total_volume_m3", _m("volume"), unit="m3"),
            FieldSpec("total_cooling_volume_m3", _m("volume", t=2), unit="m3"),
            FieldSpec("volume_flow_m3h", _m("volume flow"), unit="m3h"),
            FieldSpec("power_kw", _m("power"), unit="kw"),
            FieldSpec("flow_temperature_c", _m("flow temperature"), unit="c"),
            FieldSpec("return_temperature_c", _m("return temperature"), unit="c"),
            FieldSpec("operating_time_h", _m("operating time"), unit="h"),
            FieldSpec("operating_time_in_error_h", _m("operating time", c=(0x18,)), unit="h"),
            FieldSpec("energy_at_set_date_kwh", _m("energy", s=1), unit="kwh"),
            FieldSpec("cooling_at_set_date_kwh", _m("energy", s=1, t=1), unit="kwh"),
            FieldSpec("set_date", storage(1, "date"), kind="date"),
        ),
    )


def qualcosonic() -> TableDriver:
    return TableDriver(
        name="qualcosonic",
        detect=(Detect("AXI", 0x0B, 0x0D), Detect("AXI", 0x0C, 0x0D)),
        field_specs=(
            FieldSpec("fabrication_no", Match(vif="fabrication no"), kind="text"),
            FieldSpec("operating_time_h", _m("operating time"), unit="h"),
            FieldSpec("on_time_h", _m("on time"), unit="h"),
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec(
                "meter_datetime_at_error", Match(vif="datetime", function="error"), "datetime"
            ),
            FieldSpec("total_m3", _m("volume"), unit="m3"),
            FieldSpec("flow_temperature_c", _m("flow temperature"), unit="c"),
            FieldSpec("return_temperature_c", _m("return temperature"), unit="c"),
            FieldSpec(
                "flow_return_temperature_difference_c", _m("temperature difference"), unit="c"
            ),
            FieldSpec("volume_flow_m3h", _m("volume flow"), unit="m3h"),
            FieldSpec("total_heat_energy_kwh", _m("energy", c=_FORWARD), unit="kwh"),
            FieldSpec("total_cooling_energy_kwh", _m("energy", c=_BACKWARD), unit="kwh"),
            FieldSpec("power_kw", _m("power"), unit="kw"),
            FieldSpec("target_datetime", storage(16, "datetime"), kind="datetime"),
            FieldSpec("target_heat_energy_kwh", _m("energy", s=16, c=_FORWARD), unit="kwh"),
            FieldSpec("target_cooling_energy_kwh", _m("energy", s=16, c=_BACKWARD), unit="kwh"),
        ),
        status_specs=(StatusSpec(_ERRORS, BitLookup((), unknown="ERROR_FLAGS")),),
        tpl_status=True,
    )


def ultraheat() -> TableDriver:
    return TableDriver(
        name="ultraheat",
        detect=(Detect("LUG", 0x04, 0x04),),
        field_specs=(
            FieldSpec("meter_datetime", storage(0, "datetime"), kind="datetime"),
            FieldSpec("fabrication_no", Match(vif="fabrication no"), kind="text"),
            FieldSpec("actuality_duration_s", _m("actuality duration"), unit="s"),
            FieldSpec("target_kwh", _m("energy", s=1), unit="kwh"),
            FieldSpec("heat_kwh", _m("energy"), unit="kwh"),
            FieldSpec("volume_m3", _m("volume"), unit="m3"),
            FieldSpec("power_kw", _m("power"), unit="kw"),
            FieldSpec("flow_m3h", _m("volume flow"), unit="m3h"),
            FieldSpec("flow_c", _m("flow temperature"), unit="c"),
            FieldSpec("return_c", _m("return temperature"), unit="c"),
        ),
        status_specs=(StatusSpec(_ERRORS, _NO_NAMES),),
        tpl_status=True,
    )


def lansenth() -> TableDriver:
    return TableDriver(
        name="lansenth",
        detect=(Detect("LAS", 0x07, 0x1B), Detect("LAS", 0x09, 0x1B)),
        field_specs=(
            FieldSpec("on_time_h", _m("on time"), unit="h"),
            FieldSpec("current_temperature_c", _m("external temperature"), unit="c"),
            FieldSpec("current_relative_humidity_rh", _m("relative humidity"), unit="rh"),
            FieldSpec("average_temperature_1h_c", _m("external temperature", s=1), unit="c"),
            FieldSpec("average_relative_humidity_1h_rh", _m("relative humidity", s=1), unit="rh"),
            FieldSpec("average_temperature_24h_c", _m("external temperature", s=2), unit="c"),
            FieldSpec("average_relative_humidity_24h_rh", _m("relative humidity", s=2), unit="rh"),
        ),
        tpl_status=True,
        tpl_mfct_bits=((0x40, "SABOTAGE_ENCLOSURE"),),
    )


def lansenpu() -> TableDriver:
    return TableDriver(
        name="lansenpu",
        detect=(Detect("LAS", 0x14, 0x00), Detect("LAS", 0x1B, 0x00), Detect("LAS", 0x0B, 0x02)),
        field_specs=(
            FieldSpec("a_counter", key("0EFD3A"), kind="round6"),
            FieldSpec("b_counter", key("8E40FD3A"), kind="round6"),
        ),
        tpl_status=True,
        tpl_mfct_bits=((0x40, "SABOTAGE_ENCLOSURE"),),
    )
