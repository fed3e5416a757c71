"""Unit conversion for named fields: a record's value in its own unit -> the field's unit.

Field names end in their unit as wmbusmeters writes them (total_m3, power_kw, flow_m3h, ...).
The factors are exact definitions (1 kWh = 3.6 MJ, 1 m³ = 1000 l, ...).
"""

from __future__ import annotations

# TO[field_unit][record_unit] = factor; record units are lower-cased, with spelling variants.
TO: dict[str, dict[str, float]] = {
    "m3": {"m3": 1.0, "m³": 1.0, "l": 1e-3, "liter": 1e-3, "litre": 1e-3},
    "l": {"l": 1.0, "m3": 1e3, "m³": 1e3},
    "kwh": {
        "kwh": 1.0,
        "wh": 1e-3,
        "mwh": 1e3,
        "gwh": 1e6,
        "j": 1 / 3.6e6,
        "kj": 1 / 3.6e3,
        "mj": 1 / 3.6,
        "gj": 1e3 / 3.6,
    },
    "gj": {"gj": 1.0, "mj": 1e-3, "kj": 1e-6, "j": 1e-9, "kwh": 0.0036, "wh": 3.6e-6},
    "m3h": {
        "m3h": 1.0,
        "m3/h": 1.0,
        "m³/h": 1.0,
        "lh": 1e-3,
        "l/h": 1e-3,
        "m3/min": 60.0,
        "m3min": 60.0,
        "m3/s": 3600.0,
        "m3s": 3600.0,
    },
    "kw": {
        "kw": 1.0,
        "w": 1e-3,
        "mw": 1e3,
        "j/h": 1 / 3.6e6,
        "mj/h": 1 / 3.6,
        "gj/h": 1e3 / 3.6,
    },
    "w": {"w": 1.0, "kw": 1e3},
    "c": {"c": 1.0, "°c": 1.0, "degc": 1.0, "k": 1.0},
    "k": {"k": 1.0, "c": 1.0, "°c": 1.0},
    "h": {"h": 1.0, "s": 1 / 3600, "min": 1 / 60, "d": 24.0},
    "s": {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0},
    "d": {"d": 1.0, "h": 1 / 24, "min": 1 / 1440, "s": 1 / 86400},
    # years as wmbusmeters counts them: Gregorian years of 365.2425 days
    "y": {"d": 1 / 365.2425, "h": 1 / 8765.82, "y": 1.0},
    "bar": {"bar": 1.0, "mbar": 1e-3, "pa": 1e-5, "kpa": 1e-2},
    "v": {"v": 1.0},
    "hz": {"hz": 1.0},
    "a": {"a": 1.0},
    "kg": {"kg": 1.0, "t": 1e3},
    "hca": {"hca": 1.0, "": 1.0},
    "rh": {"%": 1.0, "rh": 1.0},
    "counter": {"": 1.0, "counter": 1.0},
    # reactive (var) and apparent (VA) energy: a Wh-family VIF on the subunit that carries them
    "kvarh": {"kwh": 1.0, "wh": 1e-3, "mwh": 1e3},
    "kvah": {"kwh": 1.0, "wh": 1e-3, "mwh": 1e3},
}


def factor(field_unit: str, record_unit: str) -> float | None:
    """The factor that turns a value in record_unit into field_unit, or None if incompatible."""
    table = TO.get(field_unit)
    if table is None:
        return None
    return table.get(record_unit.lower())
