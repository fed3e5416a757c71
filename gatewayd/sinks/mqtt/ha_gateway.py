"""Home Assistant MQTT discovery for the gateway itself: one device that every meter device
names as its `via_device`, with the radio state, the outbox backlog, frames per second and the
uptime, read from the `stats` topic (published every `stats_interval_s` while connected).

The gateway's device is keyed on `<prefix>_gateway_<gateway id>`: it is this gateway.
"""

from __future__ import annotations

from typing import Any

from gatewayd import __version__
from gatewayd.sinks.mqtt.discovery import ORIGIN, DiscoveryConfig, availability, gateway_node
from gatewayd.sinks.mqtt.payload import Topics

RADIO_STATES = ("up", "reconnecting", "down")  # the daemon's stats "radio_state"


def gateway_device(topics: Topics) -> dict[str, Any]:
    return {
        "identifiers": [gateway_node(topics)],
        "name": f"gatewayd {topics.gateway}",
        "manufacturer": "gatewayd",
        "model": "Wireless M-Bus gateway",
        "sw_version": __version__,
    }


def _or_none(ref: str) -> str:
    """A stats key, or "None" (unknown in Home Assistant) while the stats do not have it."""
    return f"{{{{ {ref} | default('None') }}}}"


def gateway_configs(topics: Topics, ha_prefix: str) -> list[DiscoveryConfig]:
    node = gateway_node(topics)
    common: dict[str, Any] = {
        "state_topic": topics.stats,
        **availability(topics),
        "device": gateway_device(topics),
        "origin": dict(ORIGIN),
    }
    entities: list[tuple[str, str, dict[str, Any]]] = [
        (
            "radio_state",
            "Radio",
            {
                "value_template": _or_none("value_json.radio_state"),
                "device_class": "enum",
                "options": list(RADIO_STATES),
            },
        ),
        (
            "outbox_backlog",
            "Outbox backlog",
            {
                "value_template": _or_none("value_json.mqtt.queued"),
                "unit_of_measurement": "messages",
                "state_class": "measurement",
                "entity_category": "diagnostic",
            },
        ),
        (
            "frames_per_s",
            "Frames per second",
            {
                "value_template": _or_none("value_json.frames_per_s"),
                "unit_of_measurement": "frames/s",
                "state_class": "measurement",
                "suggested_display_precision": 2,
            },
        ),
        (
            "uptime",
            "Uptime",
            {
                "value_template": _or_none("value_json.uptime_s"),
                "device_class": "duration",
                "unit_of_measurement": "s",
                "entity_category": "diagnostic",
            },
        ),
    ]
    return [
        DiscoveryConfig(
            f"{ha_prefix}/sensor/{node}/{obj}/config",
            {"name": name, "unique_id": f"{node}_{obj}", **common, **extra},
        )
        for obj, name, extra in entities
    ]
