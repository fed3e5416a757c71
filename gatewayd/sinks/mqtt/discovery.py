"""Home Assistant MQTT discovery for the meters: one device per meter, one entity per field.

Pure: a typed Reading goes in, (topic, config) pairs come out. Which entity a field becomes is
decided by the field's role (gatewayd.meters.roles), never by its name; its name in words comes
from ha_names.py. The gateway's own device is in ha_gateway.py.

Identity: a meter's device and entities are keyed on `<prefix>_<meter id>` (the node), not on
the gateway id, so renaming the gateway keeps every entity and its history. Two gateways with
the same prefix that both have a meter configured announce the same device: Home Assistant shows
it once, fed by whichever gateway announced last (docs/mqtt.md).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from gatewayd import __version__
from gatewayd.meters.flags import FlagKind, status_flags
from gatewayd.meters.jsonbytes import to_json
from gatewayd.meters.manufacturers import manufacturer_name
from gatewayd.meters.model import Field, Reading
from gatewayd.meters.novalue import no_value_code
from gatewayd.meters.roles import Medium, Role
from gatewayd.sinks.mqtt.ha_names import device_model, device_name, entity_name
from gatewayd.sinks.mqtt.payload import OFFLINE, ONLINE, Topics

ORIGIN: Mapping[str, str] = {"name": "gatewayd", "sw_version": __version__}


@dataclass(frozen=True, slots=True)
class SensorKind:
    """How the fields of one role appear in Home Assistant."""

    device_class: str | None
    state_class: str


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
    Role.PRESSURE: SensorKind("pressure", "measurement"),
    Role.HUMIDITY: SensorKind("humidity", "measurement"),
    Role.HEAT_COST: SensorKind(None, "total"),  # allocator units, reset once a year
}
RSSI_KIND = SensorKind("signal_strength", "measurement")

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
    "bar": "bar",
    "rh": "%",
    "hca": "",  # a count of allocator units: no unit
}

# Volume is water unless the medium is gas.
VOLUME_CLASS_BY_MEDIUM: Mapping[Medium, str] = {Medium.GAS: "gas"}

# Alarm flag -> (entity name, binary_sensor device class)
ALARMS: Mapping[str, tuple[str, str]] = {
    "dry": ("Dry", "problem"),
    "reverse": ("Reverse flow", "problem"),
    "leak": ("Leak", "moisture"),
    "burst": ("Burst", "moisture"),
    "tamper": ("Tamper", "tamper"),
}
FLAG_CLASSES: Mapping[FlagKind, str] = {
    FlagKind.BATTERY: "battery",
    FlagKind.COLD: "cold",
    FlagKind.PROBLEM: "problem",
}
# Words in a field name that make it a secondary value (a snapshot, an extreme, an average).
SECONDARY_WORDS = frozenset(
    {"min", "max", "average", "target", "last", "month", "day", "backward", "subunit"}
)

HEADLINE_ROLES = frozenset({Role.TOTAL_VOLUME, Role.VOLUME_FLOW})

_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(frozen=True, slots=True)
class DiscoveryConfig:
    topic: str  # <ha_prefix>/<component>/<node>/<object>/config
    config: Mapping[str, Any]

    def payload(self) -> bytes:
        return to_json(self.config)


def safe(text: str) -> str:
    return _UNSAFE.sub("_", text)


def meter_node(topics: Topics, meter_id: str) -> str:
    """A meter's node: `<prefix>_<id>`, the same whatever the gateway is called."""
    return safe(f"{topics.prefix}_{meter_id}")


def gateway_node(topics: Topics) -> str:
    return safe(f"{topics.prefix}_gateway_{topics.gateway}")


def legacy_config_topics(reading: Reading, topics: Topics, ha_prefix: str) -> list[str]:
    """Where releases that keyed a meter's device on the gateway id (node
    `<prefix>_<gateway>_<id>`) put this meter's configs: a sensor per field and the signal
    strength, a binary sensor per alarm. Left retained, they keep that old device in Home
    Assistant next to the new one; the sink clears them when it first announces the meter."""
    node = safe(f"{topics.prefix}_{topics.gateway}_{reading.id}")
    sensors = [safe(f.name) for f in reading.fields]
    if reading.rssi_dbm is not None:
        sensors.append("rssi_dbm")
    alarms = [safe(f"alarm_{flag}") for flag in reading.alarms or {}]
    return sorted(
        [f"{ha_prefix}/sensor/{node}/{obj}/config" for obj in sensors]
        + [f"{ha_prefix}/binary_sensor/{node}/{obj}/config" for obj in alarms]
    )


def meter_topic_prefixes(topics: Topics, ha_prefix: str, meter_id: str) -> tuple[str, ...]:
    """Where a meter's configs live: `<ha_prefix>/<component>/<node>/`."""
    node = meter_node(topics, meter_id)
    return tuple(f"{ha_prefix}/{c}/{node}/" for c in ("sensor", "binary_sensor"))


def availability(topics: Topics) -> dict[str, Any]:
    return {
        "availability_topic": topics.status,
        "payload_available": ONLINE.decode(),
        "payload_not_available": OFFLINE.decode(),
    }


def value(name: str) -> str:
    """A Jinja reference to a key of the JSON payload."""
    return f"value_json.{name}" if name.isidentifier() else f"value_json[{name!r}]"


def _number_template(reading: Reading, name: str) -> str:
    if no_value_code(reading.meter, name) is None:
        return f"{{{{ {value(name)} }}}}"
    # The meter may send its "no value" code: the payload names such fields in no_value.
    return f"{{{{ None if {name!r} in (value_json.no_value | default([])) else {value(name)} }}}}"


def _flag_template(tokens: tuple[str, ...]) -> str:
    words = "(value_json.status | default('')).split()"
    return f"{{{{ 'ON' if {words} | select('in', {list(tokens)!r}) | list else 'OFF' }}}}"


def _headlines(reading: Reading) -> set[str]:
    """The meter's own total volume and flow: the best-ranked field of each role (roles.py),
    or, without a ranked one, its first field of that role that is no snapshot or extreme."""
    best: dict[Role, tuple[int, str]] = {}
    for f in reading.fields:
        if f.role not in HEADLINE_ROLES or (f.number is None and not f.no_value):
            continue
        if f.rank is not None:
            rank = f.rank
        elif SECONDARY_WORDS.isdisjoint(f.name.split("_")):
            rank = 1_000
        else:
            continue
        if f.role not in best or rank < best[f.role][0]:
            best[f.role] = (rank, f.name)
    return {name for _rank, name in best.values()}


def primary(f: Field, headlines: set[str]) -> bool:
    """Shown by default: the headline total and flow, temperatures, energy, power; not the
    snapshots (target, last month), the extremes, backward or per-subunit counters."""
    if f.role in HEADLINE_ROLES:
        return f.name in headlines
    if f.role in (Role.VOLUME, Role.ENERGY):
        return False
    return SECONDARY_WORDS.isdisjoint(f.name.split("_"))


def _device_class(kind: SensorKind, reading: Reading) -> str | None:
    if kind.device_class == "water":
        return VOLUME_CLASS_BY_MEDIUM.get(reading.medium, "water")
    return kind.device_class


def device(reading: Reading, topics: Topics) -> dict[str, Any]:
    return {
        "identifiers": [meter_node(topics, reading.id)],
        "name": device_name(reading),
        "manufacturer": manufacturer_name(reading.identity.manufacturer),
        "model": device_model(reading),
        "model_id": reading.meter,
        "serial_number": reading.id,
        "via_device": gateway_node(topics),
    }


def config_key(reading: Reading) -> Hashable:
    """Everything discovery_configs() depends on: readings with equal keys get equal configs
    (values matter only by their type), so the sink builds them once per change."""
    alarms = None if reading.alarms is None else tuple(reading.alarms)
    kinds = tuple((k, type(v)) for k, v in reading.values.items())
    return (reading.identity, reading.name, reading.rssi_dbm is None, kinds, alarms)


def discovery_configs(reading: Reading, topics: Topics, ha_prefix: str) -> list[DiscoveryConfig]:
    """The meter's device with an entity for each named field it knows, its alarms and
    status conditions, and its health (reception problem, last seen).

    Every entity is available while the gateway's status topic says `online`; values come from
    the retained `meters/<id>` topic, health from the retained `health/<id>` topic.
    """
    mid = reading.id
    node = meter_node(topics, mid)
    common: dict[str, Any] = {
        **availability(topics),
        "device": device(reading, topics),
        "origin": dict(ORIGIN),
    }
    out: list[DiscoveryConfig] = []

    def add(component: str, obj: str, name: str, extra: dict[str, Any], shown: bool) -> None:
        obj = safe(obj)
        cfg: dict[str, Any] = {"name": name, "unique_id": f"{node}_{obj}"}
        cfg["state_topic"] = topics.meter(mid)
        cfg.update(common)
        cfg.update(extra)
        if not shown:
            cfg["enabled_by_default"] = False
        out.append(DiscoveryConfig(f"{ha_prefix}/{component}/{node}/{obj}/config", cfg))

    headlines = _headlines(reading)
    if reading.rssi_dbm is not None:
        add(
            "sensor",
            "rssi_dbm",
            "Signal strength",
            {
                "value_template": f"{{{{ {value('rssi_dbm')} }}}}",
                "unit_of_measurement": "dBm",
                "device_class": RSSI_KIND.device_class,
                "state_class": RSSI_KIND.state_class,
                "entity_category": "diagnostic",
            },
            False,
        )
    for f in reading.fields:
        if f.role is Role.STATUS:
            if isinstance(f.value, str):  # "" means no condition set: shown as OK
                tpl = f"{{{{ {value(f.name)} | default('OK', true) }}}}"
                add("sensor", f.name, entity_name(f), {"value_template": tpl}, f.name == "status")
            continue
        kind = SENSOR_KINDS.get(f.role)
        if kind is None or (f.number is None and not f.no_value) or f.unit not in HA_UNITS:
            continue
        extra: dict[str, Any] = {"value_template": _number_template(reading, f.name)}
        if HA_UNITS[f.unit]:
            extra["unit_of_measurement"] = HA_UNITS[f.unit]
        if (cls := _device_class(kind, reading)) is not None:
            extra["device_class"] = cls
        extra["state_class"] = kind.state_class
        add("sensor", f.name, entity_name(f), extra, primary(f, headlines))

    for flag in reading.alarms or {}:
        label, cls = ALARMS.get(flag, (flag.replace("_", " ").capitalize(), "problem"))
        tpl = f"{{{{ 'ON' if (value_json.alarms | default({{}})).get({flag!r}) else 'OFF' }}}}"
        add("binary_sensor", f"alarm_{flag}", label, _binary(tpl, cls), True)
    for sf in status_flags(reading):
        tpl = _flag_template(sf.tokens)
        add("binary_sensor", f"flag_{sf.key}", sf.label, _binary(tpl, FLAG_CLASSES[sf.kind]),
            sf.primary)  # fmt: skip

    health = {"state_topic": topics.health(mid)}
    add(
        "binary_sensor",
        "reception",
        "Reception",
        {
            **health,
            **_binary("{{ 'OFF' if value_json.state == 'ok' else 'ON' }}", "problem"),
        },
        True,
    )
    add(
        "sensor",
        "last_seen",
        "Last seen",
        {
            **health,
            "value_template": "{{ value_json.last_seen or None }}",
            "device_class": "timestamp",
            "entity_category": "diagnostic",
        },
        True,
    )
    return out


def _binary(template: str, device_class: str) -> dict[str, Any]:
    return {
        "value_template": template,
        "payload_on": "ON",
        "payload_off": "OFF",
        "device_class": device_class,
    }
