"""Meter knowledge the Home Assistant discovery (and other consumers) rely on: makers' names,
product names, "no value" codes and the conditions in the status tokens."""

from __future__ import annotations

from gatewayd.meters.flags import KAMHEAT, KAMPRESS, KAMWATER_INFO32, status_flags
from gatewayd.meters.kamstrup_codes import INFO32_BITS
from gatewayd.meters.kamstrup_heat import INFO16_NAMES, INFO32_NAMES, NARROW_BITS
from gatewayd.meters.kamstrup_other import PRESSURE_FLAGS
from gatewayd.meters.kamstrup_water import DETECT, FIELDS
from gatewayd.meters.manufacturers import manufacturer_name, model_name
from gatewayd.meters.model import from_dict
from gatewayd.meters.novalue import NO_VALUE, is_no_value


def test_manufacturer_in_full_with_the_code_as_fallback() -> None:
    assert manufacturer_name("KAM") == manufacturer_name("KAW") == "Kamstrup"
    assert manufacturer_name("kam") == "Kamstrup"
    assert manufacturer_name("QQQ") == "QQQ"


def test_every_kamstrup_water_meter_has_a_product_name() -> None:
    names = {model_name(d.manufacturer, d.version, d.device_type, "kamwater") for d in DETECT}
    assert names == {"MULTICAL 21", "flowIQ 2200", "KWM"}
    assert model_name("KAM", 0x99, 0x16, "kamwater") == "kamwater"


def test_every_kamwater_temperature_has_its_no_value_code() -> None:
    temps = {s.name for s in FIELDS if s.unit == "c"}
    assert temps == set(NO_VALUE["kamwater"])
    assert is_no_value("kamwater", "flow_temperature_c", 127)
    assert not is_no_value("kamwater", "flow_temperature_c", 126)
    assert not is_no_value("kamwater", "total_m3", 127)
    assert not is_no_value("kamheat", "t1_temperature_c", 127)


def test_status_flags_name_only_tokens_the_drivers_emit() -> None:
    emitted = {n for _b, n in INFO32_BITS} | set(INFO32_NAMES) | set(INFO16_NAMES)
    emitted |= {n for _b, n in NARROW_BITS} | {n for _b, n in PRESSURE_FLAGS}
    for flag in (*KAMWATER_INFO32, *KAMHEAT, *KAMPRESS):
        assert set(flag.tokens) <= emitted, flag


def test_status_flags_follow_the_model() -> None:
    base = {"id": "12345678", "meter": "kamwater", "status": "OK", "manufacturer": "KAW"}
    flowiq = status_flags(from_dict({**base, "version": 0x3A}))
    mc21 = status_flags(from_dict({**base, "version": 0x1B}))
    assert [f.key for f in mc21] == ["battery_low"]
    assert [f.key for f in flowiq][1:] == [f.key for f in KAMWATER_INFO32]
    assert status_flags(from_dict({**base, "status": None})) == ()  # no status: no flags
