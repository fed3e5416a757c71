"""What each named field means: its semantic role, unit and rank, decided here once.

Field names follow wmbusmeters (`total_m3`, `flow_temperature_c`, ...): the unit is the suffix.
The drivers' names are this package's knowledge, so the meaning of a name is decided here and
travels with the field (`Field.role`, `Field.unit`); sinks read the role and never parse names.

`rank` orders fields of the same role for a consumer that wants one headline value per role
(the BLE record's volume, flow and temperatures): 0 is the best candidate; None means "never the
headline" (e.g. a backward volume is a total volume counter but not the meter's total).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache


class Role(enum.StrEnum):
    TOTAL_VOLUME = "total_volume"  # a volume counter that only grows (total_m3, total_backward_m3)
    VOLUME = "volume"  # a volume at a date (target_m3, last_month_total_m3)
    VOLUME_FLOW = "volume_flow"  # m3/h, current, minimum or maximum
    WATER_TEMPERATURE = "water_temperature"  # the medium's temperature (flow_temperature_c)
    AMBIENT_TEMPERATURE = "ambient_temperature"  # the air around the meter
    TEMPERATURE = "temperature"  # any other temperature (return, t1, difference)
    TOTAL_ENERGY = "total_energy"  # an energy counter that only grows
    ENERGY = "energy"  # an energy at a date (target_energy_kwh)
    POWER = "power"
    PRESSURE = "pressure"
    HUMIDITY = "humidity"
    HEAT_COST = "heat_cost"  # heat cost allocator units
    DURATION = "duration"  # hours, days, years, seconds
    DATE = "date"
    STATUS = "status"  # the meter's status text: "OK" or the set flags (status, current_status)
    TEXT = "text"
    OTHER = "other"


class Medium(enum.StrEnum):
    """What a meter measures, from the link-layer device type (not from its name in words)."""

    WATER = "water"
    GAS = "gas"
    HEAT = "heat"
    ELECTRICITY = "electricity"
    HEAT_COST = "heat_cost"
    OTHER = "other"


_MEDIA: dict[int, Medium] = {
    0x02: Medium.ELECTRICITY,
    0x03: Medium.GAS,
    0x04: Medium.HEAT,
    0x06: Medium.WATER,
    0x07: Medium.WATER,
    0x08: Medium.HEAT_COST,
    0x0A: Medium.HEAT,
    0x0B: Medium.HEAT,
    0x0C: Medium.HEAT,
    0x0D: Medium.HEAT,
    0x15: Medium.WATER,
    0x16: Medium.WATER,
    0x17: Medium.WATER,
    0x28: Medium.WATER,
}


def medium_of(device_type: int) -> Medium:
    return _MEDIA.get(device_type, Medium.OTHER)


@dataclass(frozen=True, slots=True)
class Meaning:
    role: Role
    unit: str  # the wmbusmeters unit suffix without "_" ("m3", "c", "kwh"), "" for none
    rank: int | None = None


# Headline candidates, best first (the names the drivers of this package and wmbusmeters use).
_HEADLINES: dict[Role, tuple[str, ...]] = {
    Role.TOTAL_VOLUME: ("total_m3", "total_volume_m3"),
    Role.VOLUME_FLOW: (
        "flow_m3h",
        "volume_flow_m3h",
        "current_volume_flow_m3h",
        "current_flow_m3h",
        "flow_water_m3h",
    ),
    Role.WATER_TEMPERATURE: (
        "flow_temperature_c",
        "water_temperature_c",
        "min_flow_temperature_c",
        "max_flow_temperature_c",
    ),
    Role.AMBIENT_TEMPERATURE: (
        "external_temperature_c",
        "ambient_temperature_c",
        "current_temperature_c",
        "min_external_temperature_c",
        "min_external_temperature_last_day_c",
        "min_external_temperature_last_month_c",
        "max_external_temperature_c",
        "average_ambient_temperature_c",
        "max_ambient_temperature_c",
    ),
}
_RANKS: dict[str, tuple[Role, int]] = {
    name: (role, i) for role, names in _HEADLINES.items() for i, name in enumerate(names)
}
# A bare "temperature_c" is the water's on a water meter and the air's on anything else; it
# ranks after the explicit names.
PLAIN_TEMPERATURE = "temperature_c"
_TEXT_STATUS = frozenset({"status", "current_status"})
_DATE_SUFFIXES = ("_date", "_datetime")

_UNITS: tuple[tuple[str, Role], ...] = (  # longest suffix first: "_m3h" before "_m3"
    ("_m3h", Role.VOLUME_FLOW),
    ("_m3c", Role.OTHER),
    ("_kwh", Role.ENERGY),
    ("_mwh", Role.ENERGY),
    ("_hca", Role.HEAT_COST),
    ("_bar", Role.PRESSURE),
    ("_m3", Role.VOLUME),
    ("_gj", Role.ENERGY),
    ("_kw", Role.POWER),
    ("_rh", Role.HUMIDITY),
    ("_c", Role.TEMPERATURE),
    ("_h", Role.DURATION),
    ("_d", Role.DURATION),
    ("_y", Role.DURATION),
    ("_s", Role.DURATION),
)


@lru_cache(maxsize=2048)
def meaning(name: str, medium: Medium) -> Meaning:
    """The role, unit and headline rank of the named field `name` on a meter of `medium`."""
    if name in _TEXT_STATUS:
        return Meaning(Role.STATUS, "")
    if name.endswith(_DATE_SUFFIXES):
        return Meaning(Role.DATE, "")
    unit, role = next(((s[1:], r) for s, r in _UNITS if name.endswith(s)), ("", Role.OTHER))
    ranked = _RANKS.get(name)
    if ranked is not None:
        return Meaning(ranked[0], unit, ranked[1])
    if name == PLAIN_TEMPERATURE:
        water = medium is Medium.WATER
        role = Role.WATER_TEMPERATURE if water else Role.AMBIENT_TEMPERATURE
        return Meaning(role, unit, len(_HEADLINES[role]))
    if role is Role.VOLUME and name.startswith("total"):
        return Meaning(Role.TOTAL_VOLUME, unit)
    if role is Role.ENERGY and name.startswith("total"):
        return Meaning(Role.TOTAL_ENERGY, unit)
    if role is Role.VOLUME_FLOW:
        return Meaning(role, unit)
    if role is Role.TEMPERATURE:
        if "external" in name or "ambient" in name:
            return Meaning(Role.AMBIENT_TEMPERATURE, unit)
        if "flow_temperature" in name and "return" not in name and "difference" not in name:
            return Meaning(Role.WATER_TEMPERATURE, unit)
    return Meaning(role, unit)
