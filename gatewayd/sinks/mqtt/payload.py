"""Pure MQTT knowledge: topic names, payload bytes, Home Assistant discovery configs.

No I/O here: a reading (DESIGN.md §4.2) goes in, topics and bytes come out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gatewayd.sinks.base import Reading

ONLINE = b"online"
OFFLINE = b"offline"


@dataclass(frozen=True, slots=True)
class Topics:
    """DESIGN.md §4.3: everything lives under `<prefix>/<gateway>/`."""

    prefix: str
    gateway: str

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.gateway}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def stats(self) -> str:
        return f"{self.base}/stats"

    def meter(self, meter_id: str) -> str:
        return f"{self.base}/meters/{meter_id}"

    def alarms(self, meter_id: str) -> str:
        return f"{self.base}/alarms/{meter_id}"


def to_json(obj: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON, keys in the reading's own order; NaN/inf are refused (not JSON)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def meter_id(reading: Reading) -> str:
    """The reading's meter id, checked to be usable as one topic level."""
    mid = reading.get("id")
    if not isinstance(mid, str) or not mid or any(c in mid for c in "/+#\0"):
        raise ValueError(f"reading has no usable meter id: {mid!r}")
    return mid


def alarm_payload(reading: Reading) -> bytes:
    """The `alarms/<id>` message: which alarms are set now, with the reading's identity."""
    alarms = reading.get("alarms")
    flags = dict(alarms) if isinstance(alarms, Mapping) else {}
    return to_json(
        {
            "id": reading.get("id"),
            "meter": reading.get("meter"),
            "timestamp": reading.get("timestamp"),
            "alarms": flags,
            "active": sorted(k for k, v in flags.items() if v is True),
        }
    )


# ---------------------------------------------------------------- Home Assistant discovery


@dataclass(frozen=True, slots=True)
class SensorKind:
    """How one family of named fields (recognised by unit suffix) appears in Home Assistant."""

    suffix: str  # the wmbusmeters unit suffix, e.g. "_m3"
    unit: str
    device_class: str | None
    state_class: str  # for fields named total_*; see _state_class
    diagnostic: bool = False


# Longest suffix first: "_m3h" must win over "_m3", "_kwh" over "_kw"/"_h".
SENSOR_KINDS: tuple[SensorKind, ...] = (
    SensorKind("_m3h", "m³/h", "volume_flow_rate", "measurement"),
    SensorKind("_kwh", "kWh", "energy", "total_increasing"),
    SensorKind("_mwh", "MWh", "energy", "total_increasing"),
    SensorKind("_dbm", "dBm", "signal_strength", "measurement", diagnostic=True),
    SensorKind("_m3", "m³", "water", "total_increasing"),
    SensorKind("_gj", "GJ", "energy", "total_increasing"),
    SensorKind("_kw", "kW", "power", "measurement"),
    SensorKind("_c", "°C", "temperature", "measurement"),
)

# Alarm flag -> binary_sensor device class; flags not listed are "problem".
ALARM_DEVICE_CLASSES: Mapping[str, str] = {
    "leak": "moisture",
    "burst": "moisture",
    "tamper": "tamper",
}

# Volume is water unless the medium says otherwise (device_class per medium keyword).
VOLUME_CLASS_BY_MEDIUM: tuple[tuple[str, str], ...] = (("gas", "gas"),)

# Text fields worth a (class-less) sensor of their own.
TEXT_SENSORS: tuple[str, ...] = ("current_status", "status")

_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(frozen=True, slots=True)
class DiscoveryConfig:
    topic: str  # <ha_prefix>/<component>/<node>/<object>/config
    config: Mapping[str, Any]

    def payload(self) -> bytes:
        return to_json(self.config)


def sensor_kind(field_name: str) -> SensorKind | None:
    return next((k for k in SENSOR_KINDS if field_name.endswith(k.suffix)), None)


def _state_class(kind: SensorKind, field_name: str) -> str:
    # Cumulative counters (total_*) only ever grow; snapshots of them (target_*, *_last_month)
    # are totals that jump when the meter rolls its billing date.
    if kind.state_class != "total_increasing" or field_name.startswith("total"):
        return kind.state_class
    return "total"


def _device_class(kind: SensorKind, reading: Reading) -> str | None:
    if kind.device_class == "water":
        medium = str(reading.get("media") or "")
        return next((c for word, c in VOLUME_CLASS_BY_MEDIUM if word in medium), "water")
    return kind.device_class


def _template(path: str, name: str) -> str:
    ref = f"{path}.{name}" if name.isidentifier() else f"{path}[{name!r}]"
    return f"{{{{ {ref} }}}}"


def _title(field_name: str) -> str:
    return field_name.replace("_", " ").capitalize()


def discovery_configs(reading: Reading, topics: Topics, ha_prefix: str) -> list[DiscoveryConfig]:
    """One HA device per meter (per gateway) with an entity for each named field it knows.

    Numeric fields are matched by unit suffix (SENSOR_KINDS); alarm flags become binary sensors;
    every entity reads the retained `meters/<id>` topic and is available while the gateway's
    status topic says `online`.
    """
    mid = meter_id(reading)
    node = _UNSAFE.sub("_", f"{topics.prefix}_{topics.gateway}_{mid}")
    device: dict[str, Any] = {
        "identifiers": [node],
        "name": f"{reading.get('meter') or 'meter'} {mid}",
        "manufacturer": reading.get("manufacturer"),
        "model": reading.get("meter"),
        "serial_number": mid,
    }
    device = {k: v for k, v in device.items() if v is not None}
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

    for name, value in reading.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            if name in TEXT_SENSORS and isinstance(value, str):
                add("sensor", name, {"value_template": _template("value_json", name)})
            continue
        kind = sensor_kind(name)
        if kind is None:
            continue
        extra: dict[str, Any] = {
            "value_template": _template("value_json", name),
            "unit_of_measurement": kind.unit,
            "device_class": _device_class(kind, reading),
            "state_class": _state_class(kind, name),
        }
        if kind.diagnostic:
            extra["entity_category"] = "diagnostic"
        add("sensor", name, extra)

    alarms = reading.get("alarms")
    if isinstance(alarms, Mapping):
        for flag in alarms:
            add(
                "binary_sensor",
                f"alarm_{flag}",
                {
                    "value_template": (f"{{{{ 'ON' if value_json.alarms.{flag} else 'OFF' }}}}"),
                    "payload_on": "ON",
                    "payload_off": "OFF",
                    "device_class": ALARM_DEVICE_CLASSES.get(flag, "problem"),
                },
            )
    return out
