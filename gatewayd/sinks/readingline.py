"""The body of a reading's journal line: its headline value, flow, status, RSSI and alarms.

    total_m3=123.456 m³, flow_m3h=0.012 m³/h, rssi -71 dBm

The journal sink imports this with its first reading: it needs the meters' roles, which the
daemon does not load before READY=1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gatewayd.meters.novalue import NO_VALUE, is_no_value_of
from gatewayd.meters.roles import Medium, Role, meaning

if TYPE_CHECKING:
    from gatewayd.sinks.base import Reading

# The headline value: the first of these roles the reading has (best-ranked field first);
# a heat or electricity meter's energy before its volume, a heat cost allocator's units first.
MAIN_ROLES = (
    Role.TOTAL_VOLUME,
    Role.TOTAL_ENERGY,
    Role.HEAT_COST,
    Role.VOLUME,
    Role.ENERGY,
    Role.POWER,
    Role.WATER_TEMPERATURE,
    Role.AMBIENT_TEMPERATURE,
    Role.HUMIDITY,
)
_FIRST = {Medium.HEAT: Role.TOTAL_ENERGY, Medium.ELECTRICITY: Role.TOTAL_ENERGY}
_FIRST[Medium.HEAT_COST] = Role.HEAT_COST
MAIN_BY_MEDIUM = {
    medium: (first, *(r for r in MAIN_ROLES if r is not first)) for medium, first in _FIRST.items()
}
_WANTED = frozenset((*MAIN_ROLES, Role.VOLUME_FLOW, Role.STATUS))
UNIT_SYMBOLS = {
    "m3": "m³",
    "m3h": "m³/h",
    "c": "°C",
    "kwh": "kWh",
    "mwh": "MWh",
    "gj": "GJ",
    "kw": "kW",
    "bar": "bar",
    "rh": "%RH",
}


def _best(reading: Reading) -> dict[Role, tuple[str, object, str]]:
    """Per wanted role, the best field: (name, value, unit). Ranked before unranked, then
    the driver's order; numbers only (a meter's "no value" code is none), except for a status
    text other than "" and "OK". (What `reading.fields` would say, without making a Field of
    every value: only the few of a wanted role are looked at.)"""
    best: dict[Role, tuple[int, str, object, str]] = {}
    medium = reading.medium
    codes = NO_VALUE.get(reading.meter)
    for name, value in reading.values.items():
        m = meaning(name, medium)
        role = m.role
        if role not in _WANTED:
            continue
        if role is Role.STATUS:
            if not isinstance(value, str) or value in ("", "OK"):
                continue  # a status text only when it says something
        elif (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (codes is not None and is_no_value_of(codes, name, value))
        ):
            continue  # not a number (Field.number is None)
        order = m.rank if m.rank is not None else 1 << 16
        seen = best.get(role)
        if seen is None or order < seen[0]:
            best[role] = (order, name, value, m.unit)
    return {role: (n, v, u) for role, (_o, n, v, u) in best.items()}


def _value(name: str, value: object, unit: str) -> str:
    symbol = UNIT_SYMBOLS.get(unit, "")
    return f"{name}={value} {symbol}" if symbol else f"{name}={value}"


def reading_body(reading: Reading) -> str:
    """`total_m3=123.456 m³, flow_m3h=0.012 m³/h, rssi -71 dBm`."""
    best = _best(reading)
    parts: list[str] = []
    order = MAIN_BY_MEDIUM.get(reading.medium, MAIN_ROLES)
    main = next((best[r] for r in order if r in best), None)
    if main is not None:
        parts.append(_value(*main))
    flow = best.get(Role.VOLUME_FLOW)
    if flow is not None:
        parts.append(_value(*flow))
    status = best.get(Role.STATUS)
    if status is not None:
        parts.append(f"{status[0]}={status[1]}")
    if reading.rssi_dbm is not None:
        parts.append(f"rssi {reading.rssi_dbm:g} dBm")
    alarms = reading.active_alarms
    if alarms:
        parts.append("alarms: " + " ".join(alarms))
    return ", ".join(parts) or f"{reading.meter or 'unknown driver'}, no value"
