"""Names in words for Home Assistant: entity names from field names, device names.

A field name is wmbusmeters' (`total_m3`, `flow_temperature_c`); its entity is named in words
without the unit ("Total volume", "Flow temperature"): the unit suffix is dropped, a few known
names come from a table, and a name left without a quantity gets the one its unit measures
("target_m3" -> "Target volume").
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gatewayd.meters.manufacturers import manufacturer_name, model_name
from gatewayd.meters.model import Field, Reading

KNOWN: Mapping[str, str] = MappingProxyType(
    {
        "total_m3": "Total volume",
        "total_volume_m3": "Total volume",
        "flow_m3h": "Flow",
        "volume_flow_m3h": "Flow",
        "current_status": "Current status",
        "status": "Status",
        "rssi_dbm": "Signal strength",
        "total_energy_consumption_kwh": "Total energy",
        "total_energy_production_kwh": "Total energy produced",
        "total_energy_backward_kwh": "Total energy backward",
        "current_power_consumption_kw": "Power",
        "current_power_production_kw": "Power produced",
        "t1_temperature_c": "Flow temperature (T1)",
        "t2_temperature_c": "Return temperature (T2)",
        "flow_return_temperature_difference_c": "Temperature difference",
        "current_consumption_hca": "Current consumption",
    }
)

# unit suffix -> the quantity it measures, added when the rest of the name has none
QUANTITY_OF_UNIT: Mapping[str, str] = MappingProxyType(
    {
        "m3": "volume",
        "m3h": "flow",
        "kwh": "energy",
        "mwh": "energy",
        "gj": "energy",
        "kw": "power",
        "c": "temperature",
        "bar": "pressure",
        "rh": "humidity",
    }
)
QUANTITY_WORDS = frozenset(
    {"volume", "flow", "energy", "power", "temperature", "pressure", "humidity", "consumption"}
)
WORDS: Mapping[str, str] = MappingProxyType({"max": "Max", "min": "Min"})


def entity_name(f: Field) -> str:
    """The entity name of a named field, in words and without its unit."""
    known = KNOWN.get(f.name)
    if known is not None:
        return known
    stem = f.name
    if f.unit and stem.endswith("_" + f.unit):
        stem = stem[: -len(f.unit) - 1]
    words = [w for w in stem.split("_") if w]
    quantity = QUANTITY_OF_UNIT.get(f.unit)
    if quantity is not None and not QUANTITY_WORDS.intersection(words):
        words.append(quantity)
    text = " ".join(words) or f.name
    return text[:1].upper() + text[1:]


def device_name(reading: Reading) -> str:
    """The meter's configured name; without one, "<manufacturer> <model> <id>"."""
    if reading.name and reading.name != reading.id:
        return reading.name
    return (
        f"{manufacturer_name(reading.identity.manufacturer)} {device_model(reading)} {reading.id}"
    )


def device_model(reading: Reading) -> str:
    i = reading.identity
    return model_name(i.manufacturer, i.version, i.device_type, i.meter)
