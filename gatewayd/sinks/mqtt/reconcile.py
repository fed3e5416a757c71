"""What the MQTT sink takes back once at start, from the record of earlier runs (ha_state.py).

Before READY=1, with maybe 10,000 configured meters: the configured ones and the record are
compared by set operations, so the cost grows with what changed (meters removed, topics under
an old gateway id or discovery prefix), not with the number of meters configured.
"""

from __future__ import annotations

from collections.abc import Collection

from gatewayd.config.sections import MqttSettings
from gatewayd.sinks.mqtt.ha_state import GATEWAY, Discovery
from gatewayd.sinks.mqtt.payload import Topics


def state_topics(topics: Topics, meter_id: str) -> set[str]:
    """A meter's retained state topics: its reading and its health."""
    return {topics.meter(meter_id), topics.health(meter_id)}


def reconcile(
    d: Discovery, topics: Topics, settings: MqttSettings, meters: Collection[str] | None
) -> dict[str, list[str]]:
    """Take back what earlier runs announced and is no longer wanted: the discovery configs
    at once (through `d`), and returns the retained state topics to clear (owner -> topics)
    through the outbox. `meters`: the configured meter ids (None: unknown, none is removed)."""
    ha = settings.ha_discovery
    if ha:  # the discovery configs and the meter model: only for Home Assistant
        from gatewayd.sinks.mqtt.discovery import meter_topic_prefixes  # noqa: PLC0415
        from gatewayd.sinks.mqtt.ha_gateway import gateway_configs  # noqa: PLC0415

        configs = gateway_configs(topics, settings.ha_prefix)
        d.update(GATEWAY, tuple((c.topic, c.payload()) for c in configs))
    else:
        d.forget_all_configs()
    clears: dict[str, list[str]] = {}
    configured = None if meters is None else frozenset(meters)
    for owner in () if configured is None else d.owners_but(configured | {GATEWAY}):
        clears[owner] = d.forget(owner, save=False)  # saved once, below
    # configs under an old discovery prefix or node; none when announced under these
    if ha and d.configs_moved("\n".join(meter_topic_prefixes(topics, settings.ha_prefix, ""))):
        for owner in d.config_owners():
            if owner != GATEWAY:
                d.keep_only(
                    owner, meter_topic_prefixes(topics, settings.ha_prefix, owner), save=False
                )
    for owner in d.explicit_state_owners():  # a reading retained under an old gateway id
        if owner not in clears:
            clears[owner] = d.note_state(owner, state_topics(topics, owner), save=False)
    if configured is not None:  # configured, maybe never heard: its health is retained
        d.note_default_state(configured)
    d.save()
    return clears
