"""Home Assistant MQTT discovery: one device per meter, one entity per field it knows.

Pure: a typed Reading goes in, (topic, config) pairs come out. Which entity a field becomes is
decided by the field's role (gatewayd.meters.roles), never by its name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gatewayd.meters.model import Reading, to_json
from gatewayd.meters.roles import Medium, Role
from gatewayd.sinks.mqtt.payload import OFFLINE, ONLINE, Topics


@dataclass(frozen=True, slots=True)
class SensorKind:
    """How the fields of one role appear in Home Assistant."""

    device_class: str | None
    state_class: str
    diagnostic: bool = False


SENSOR_KINDS: Mapping[Role, SensorKind] = {
    Role.TOTAL_VOLUME: SensorKind("water", "total_increasing"),
    # Snapshots of counters (target_*, *_last_month) are totals that jump when the meter
    # rolls its billing date.
    Role.VOLUME: SensorKind("water", "total"),
    Role.VOLUME_FLOW: SensorKind("volume_flow_rate", "measurement"),
    Role.WATER_TEMPERATURE: SensorKind("temperature", "measurement"),
    Role.AMBIENT_TEMPERATURE: SensorKind("temperature", "measurement"),
    Role.TEMPERATURE: SensorKind("temperature", "measurement"),
    Role.TOTAL_ENERGY: SensorKind("energy", "total_increasing"),
    Role.ENERGY: SensorKind("energy", "total"),
    Role.POWER: SensorKind("power", "measurement"),
}
RSSI_KIND = SensorKind("signal_strength", "measurement", diagnostic=True)

# Field unit (wmbusmeters suffix) -> Home Assistant unit of measurement.
HA_UNITS: Mapping[str, str] = {
    "m3": "m³",
    "m3h": "m³/h",
    "kwh": "kWh",
    "mwh": "MWh",
    "gj": "GJ",
    "kw": "kW",
    "c": "°C",
    "dbm": "dBm",
}

# Volume is water unless the medium is gas.
VOLUME_CLASS_BY_MEDIUM: Mapping[Medium, str] = {Medium.GAS: "gas"}

# Alarm flag -> binary_sensor device class; flags not listed are "problem".
ALARM_DEVICE_CLASSES: Mapping[str, str] = {
    "leak": "moisture",
    "burst": "moisture",
    "tamper": "tamper",
}

_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(frozen=True, slots=True)
class DiscoveryConfig:
    topic: str  # <ha_prefix>/<component>/<node>/<object>/config
    config: Mapping[str, Any]

    def payload(self) -> bytes:
        return to_json(self.config)


def _template(path: str, name: str) -> str:
    ref = f"{path}.{name}" if name.isidentifier() else f"{path}[{name!r}]"
    return f"{{{{ {ref} }}}}"


def _title(field_name: str) -> str:
    return field_name.replace("_", " ").capitalize()


def _device_class(kind: SensorKind, reading: Reading) -> str | None:
    if kind.device_class == "water":
        return VOLUME_CLASS_BY_MEDIUM.get(reading.medium, "water")
    return kind.device_class


def discovery_configs(reading: Reading, topics: Topics, ha_prefix: str) -> list[DiscoveryConfig]:
    """One HA device per meter (per gateway) with an entity for each named field it knows.

    Numeric fields of a role in SENSOR_KINDS become sensors; status texts become text sensors;
    alarm flags become binary sensors. Every entity reads the retained `meters/<id>` topic and
    is available while the gateway's status topic says `online`.
    """
    mid = reading.id
    ident = reading.identity
    node = _UNSAFE.sub("_", f"{topics.prefix}_{topics.gateway}_{mid}")
    device: dict[str, Any] = {
        "identifiers": [node],
        "name": f"{ident.meter or 'meter'} {mid}",
        "manufacturer": ident.manufacturer,
        "model": ident.meter,
        "serial_number": mid,
    }
    common: dict[str, Any] = {
        "state_topic": topics.meter(mid),
        "availability_topic": topics.status,
        "payload_available": ONLINE.decode(),
        "payload_not_available": OFFLINE.decode(),
        "device": device,
    }
    out: list[DiscoveryConfig] = []

    def add(component: str, field_name: str, extra: dict[str, Any]) -> None:
        obj = _UNSAFE.sub("_", field_name)
        cfg = {"name": _title(field_name), "unique_id": f"{node}_{obj}", **common, **extra}
        out.append(DiscoveryConfig(f"{ha_prefix}/{component}/{node}/{obj}/config", cfg))

    def sensor(name: str, kind: SensorKind, unit: str) -> None:
        extra: dict[str, Any] = {
            "value_template": _template("value_json", name),
            "unit_of_measurement": HA_UNITS.get(unit, unit),
            "device_class": _device_class(kind, reading),
            "state_class": kind.state_class,
        }
        if kind.diagnostic:
            extra["entity_category"] = "diagnostic"
        add("sensor", name, extra)

    if reading.rssi_dbm is not None:
        sensor("rssi_dbm", RSSI_KIND, "dbm")
    for f in reading.fields:
        if f.role is Role.STATUS:
            if isinstance(f.value, str):
                add("sensor", f.name, {"value_template": _template("value_json", f.name)})
            continue
        kind = SENSOR_KINDS.get(f.role)
        if kind is not None and f.number is not None:
            sensor(f.name, kind, f.unit)

    for flag in reading.alarms or {}:
        add(
            "binary_sensor",
            f"alarm_{flag}",
            {
                "value_template": f"{{{{ 'ON' if value_json.alarms.{flag} else 'OFF' }}}}",
                "payload_on": "ON",
                "payload_off": "OFF",
                "device_class": ALARM_DEVICE_CLASSES.get(flag, "problem"),
            },
        )
    return out
