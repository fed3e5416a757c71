"""Values a meter sends to say "no value": the field is shown as null wherever a value is
interpreted (Field.number, a reading's headline, Home Assistant, BLE, the journal's headline).

The reading's JSON keeps the value as sent, as wmbusmeters prints it (so dashboards built on it
keep working), and names such fields in its "no_value" list.

Kamstrup water meters send their 1-byte temperatures as 127 (0x7F, the largest int8) when they
have none, e.g. the water temperature of a dry meter; no water meter measures 127 °C.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

Value = int | float | str | bool | None  # as model.Value (model.py imports this module)

KAMSTRUP_NO_TEMPERATURE = 127

# driver name -> field name -> the value that means "no value"
NO_VALUE: Mapping[str, Mapping[str, Value]] = MappingProxyType(
    {
        "kamwater": MappingProxyType(
            dict.fromkeys(
                (
                    "flow_temperature_c",
                    "min_flow_temperature_c",
                    "max_flow_temperature_c",
                    "min_external_temperature_last_month_c",
                    "min_external_temperature_last_day_c",
                    "max_external_temperature_c",
                ),
                KAMSTRUP_NO_TEMPERATURE,
            )
        ),
    }
)


def no_value_code(meter: str, name: str) -> Value:
    """The value that means "no value" for field `name` of driver `meter`, or None."""
    table = NO_VALUE.get(meter)
    return None if table is None else table.get(name)


def is_no_value(meter: str, name: str, value: Value) -> bool:
    codes = NO_VALUE.get(meter)
    return codes is not None and is_no_value_of(codes, name, value)


def is_no_value_of(codes: Mapping[str, Value], name: str, value: Value) -> bool:
    code = codes.get(name)
    return code is not None and value == code and not isinstance(value, bool)
