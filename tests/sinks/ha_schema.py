"""Home Assistant's MQTT discovery schema for `sensor` and `binary_sensor`, as a JSON Schema
plus the cross-field rules Home Assistant applies, so that tests can check every config we make.

Written from Home Assistant core (homeassistant/components/mqtt/{sensor,binary_sensor,schemas,
config}.py, components/sensor/const.py, components/binary_sensor/__init__.py): the keys each
platform's DISCOVERY_SCHEMA accepts, their types, the device classes, state classes, entity
categories, and which units and state classes go with which sensor device class. Stricter than
Home Assistant in one way on purpose: an unknown key is an error here (Home Assistant silently
drops it, so a misspelt key would go unnoticed).
"""

from __future__ import annotations

from typing import Any

import jsonschema

STR = {"type": "string"}
POS_INT = {"type": "integer", "minimum": 0}
BOOL = {"type": "boolean"}

SENSOR_DEVICE_CLASSES = [
    "date",
    "enum",
    "timestamp",
    "apparent_power",
    "aqi",
    "area",
    "atmospheric_pressure",
    "battery",
    "blood_glucose_concentration",
    "carbon_monoxide",
    "carbon_dioxide",
    "conductivity",
    "current",
    "data_rate",
    "data_size",
    "distance",
    "duration",
    "energy",
    "energy_distance",
    "energy_storage",
    "frequency",
    "gas",
    "humidity",
    "illuminance",
    "irradiance",
    "moisture",
    "monetary",
    "nitrogen_dioxide",
    "nitrogen_monoxide",
    "nitrous_oxide",
    "ozone",
    "ph",
    "pm1",
    "pm10",
    "pm25",
    "power_factor",
    "power",
    "precipitation",
    "precipitation_intensity",
    "pressure",
    "reactive_power",
    "signal_strength",
    "sound_pressure",
    "speed",
    "sulphur_dioxide",
    "temperature",
    "volatile_organic_compounds",
    "volatile_organic_compounds_parts",
    "voltage",
    "volume",
    "volume_storage",
    "volume_flow_rate",
    "water",
    "weight",
    "wind_direction",
    "wind_speed",
]
BINARY_SENSOR_DEVICE_CLASSES = [
    "battery",
    "battery_charging",
    "carbon_monoxide",
    "cold",
    "connectivity",
    "door",
    "garage_door",
    "gas",
    "heat",
    "light",
    "lock",
    "moisture",
    "motion",
    "moving",
    "occupancy",
    "opening",
    "plug",
    "power",
    "presence",
    "problem",
    "running",
    "safety",
    "smoke",
    "sound",
    "tamper",
    "update",
    "vibration",
    "window",
]
STATE_CLASSES = ["measurement", "measurement_angle", "total", "total_increasing"]
ENTITY_CATEGORIES = ["config", "diagnostic"]

# sensor device class -> units Home Assistant accepts (None: no unit), for the classes a meter
# gateway can use; a class missing here is refused, so that a new one is looked up first.
_VOLUME: set[str | None] = {"L", "mL", "m³", "ft³", "CCF", "gal", "fl. oz."}
DEVICE_CLASS_UNITS: dict[str, set[str | None]] = {
    "water": {"CCF", "ft³", "m³", "gal", "L"},
    "gas": {"CCF", "ft³", "m³", "L"},
    "volume": _VOLUME,
    "volume_storage": _VOLUME,
    "volume_flow_rate": {
        "m³/h",
        "m³/min",
        "m³/s",
        "ft³/min",
        "L/h",
        "L/min",
        "L/s",
        "gal/h",
        "gal/min",
        "gal/d",
        "mL/s",
    },
    "temperature": {"°C", "°F", "K"},
    "energy": {
        "J",
        "kJ",
        "MJ",
        "GJ",
        "mWh",
        "Wh",
        "kWh",
        "MWh",
        "GWh",
        "TWh",
        "cal",
        "kcal",
        "Mcal",
        "Gcal",
    },
    "power": {"mW", "W", "kW", "MW", "GW", "TW"},
    "pressure": {"Pa", "hPa", "kPa", "bar", "cbar", "mbar", "mmHg", "inHg", "inH₂O", "psi"},
    "humidity": {"%"},
    "battery": {"%"},
    "signal_strength": {"dB", "dBm"},
    "duration": {"d", "h", "min", "s", "ms", "μs"},
    "date": {None},
    "enum": {None},
    "timestamp": {None},
}
_ALL = set(STATE_CLASSES) - {"measurement_angle"}
DEVICE_CLASS_STATE_CLASSES: dict[str, set[str]] = {
    "water": {"total", "total_increasing"},
    "gas": {"total", "total_increasing"},
    "volume": {"total", "total_increasing"},
    "volume_storage": {"measurement"},
    "volume_flow_rate": {"measurement"},
    "temperature": {"measurement"},
    "energy": {"total", "total_increasing"},
    "power": {"measurement"},
    "pressure": {"measurement"},
    "humidity": {"measurement"},
    "battery": {"measurement"},
    "signal_strength": {"measurement"},
    "duration": _ALL,
    "date": set(),
    "enum": set(),
    "timestamp": set(),
}

DEVICE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "identifiers": {"type": "array", "items": STR},
        "connections": {
            "type": "array",
            "items": {"type": "array", "items": STR, "minItems": 2, "maxItems": 2},
        },
        **dict.fromkeys(
            (
                "manufacturer",
                "model",
                "model_id",
                "name",
                "hw_version",
                "serial_number",
                "sw_version",
                "via_device",
                "suggested_area",
                "configuration_url",
            ),
            STR,
        ),
    },
    "anyOf": [
        {"required": ["identifiers"], "properties": {"identifiers": {"minItems": 1}}},
        {"required": ["connections"], "properties": {"connections": {"minItems": 1}}},
    ],
}
ORIGIN = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {"name": STR, "sw_version": STR, "support_url": STR},
}
AVAILABILITY_ITEM = {
    "type": "object",
    "additionalProperties": False,
    "required": ["topic"],
    "properties": {
        "topic": STR,
        "payload_available": STR,
        "payload_not_available": STR,
        "value_template": STR,
    },
}
COMMON: dict[str, Any] = {  # MQTT_RO_SCHEMA + MQTT_ENTITY_COMMON_SCHEMA
    "state_topic": {"type": "string", "minLength": 1, "pattern": "^[^#+]*$"},
    "value_template": STR,
    "qos": {"enum": [0, 1, 2]},
    "encoding": STR,
    "availability_topic": STR,
    "availability_template": STR,
    "payload_available": STR,
    "payload_not_available": STR,
    "availability_mode": {"enum": ["all", "any", "latest"]},
    "availability": {"type": "array", "items": AVAILABILITY_ITEM},
    "device": DEVICE,
    "origin": ORIGIN,
    "enabled_by_default": BOOL,
    "entity_category": {"enum": ENTITY_CATEGORIES},
    "icon": {"type": "string", "pattern": "^[a-z0-9-]+:[a-z0-9-]+$"},
    "json_attributes_topic": STR,
    "json_attributes_template": STR,
    "object_id": STR,
    "default_entity_id": STR,
    "unique_id": STR,
    "name": {"type": ["string", "null"]},
    "expire_after": POS_INT,
    "force_update": BOOL,
}


def _platform(extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        # state_topic: MQTT_RO_SCHEMA; unique_id: ours (a device block needs one to be used)
        "required": ["state_topic", "unique_id"],
        "additionalProperties": False,
        "properties": {**COMMON, **extra},
        "not": {"required": ["availability_topic", "availability"]},  # vol.Exclusive
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    "sensor": _platform(
        {
            "device_class": {"enum": [*SENSOR_DEVICE_CLASSES, None]},
            "state_class": {"enum": [*STATE_CLASSES, None]},
            "unit_of_measurement": {"type": ["string", "null"]},
            "suggested_display_precision": POS_INT,
            "last_reset_value_template": STR,
            "options": {"type": "array", "items": STR},
        }
    ),
    "binary_sensor": _platform(
        {
            "device_class": {"enum": [*BINARY_SENSOR_DEVICE_CLASSES, None]},
            "off_delay": POS_INT,
            "payload_on": STR,
            "payload_off": STR,
        }
    ),
}
for _s in SCHEMAS.values():
    jsonschema.Draft202012Validator.check_schema(_s)


def problems(component: str, cfg: dict[str, Any]) -> list[str]:
    """Everything Home Assistant would refuse or warn about in one discovery config."""
    schema = SCHEMAS.get(component)
    if schema is None:
        return [f"component {component!r} is not sensor or binary_sensor"]
    out = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(cfg)]
    if component == "sensor":
        out += _sensor_rules(cfg)
    return out


def _sensor_rules(cfg: dict[str, Any]) -> list[str]:
    out: list[str] = []
    dc, sc, unit = cfg.get("device_class"), cfg.get("state_class"), cfg.get("unit_of_measurement")
    if "last_reset_value_template" in cfg and sc != "total":
        out.append("last_reset_value_template needs state_class total")
    if "options" in cfg:
        if not cfg["options"]:
            out.append("an empty options list is not allowed")
        if sc or unit:
            out.append("options are not allowed with state_class or unit_of_measurement")
        if dc != "enum":
            out.append("options need device_class enum")
    elif dc == "enum":
        out.append("device_class enum needs options")
    if cfg.get("entity_category") == "config":
        out.append("a sensor cannot have entity_category config")
    if dc is not None:
        units = DEVICE_CLASS_UNITS.get(dc)
        if units is None:
            out.append(f"device_class {dc!r}: add its units to this validator first")
        elif unit not in units:
            out.append(f"unit {unit!r} is not valid with device_class {dc!r}")
        if sc is not None and sc not in DEVICE_CLASS_STATE_CLASSES.get(dc, set()):
            out.append(f"state_class {sc!r} is not valid with device_class {dc!r}")
    if sc == "measurement_angle" and unit != "°":
        out.append("state_class measurement_angle needs unit °")
    return out
