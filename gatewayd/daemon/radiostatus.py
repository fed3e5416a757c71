"""The radio's state in words an installer can act on (STATUS=, MQTT stats, BLE Status)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the radios are imported after READY=1
    from gatewayd.config.schema import RadioSettings
    from gatewayd.radios.group import RadioGroup

# The radio modules' counters of frames their checksum refused, as the stats' bad_crc.
RADIO_CRC_COUNTERS = ("crc_errors", "crc_failed", "checksum_errors")


def radio_state(group: RadioGroup | None) -> str:
    """up, down or reconnecting (the stats' radio_state); connecting before the radio exists."""
    state = "connecting" if group is None else group.state.value
    return {"running": "up", "stopped": "down"}.get(state, "reconnecting")


def crc_errors(group: RadioGroup) -> int:
    return sum(int(group.counters.get(k, 0)) for k in RADIO_CRC_COUNTERS)


def radio_words(group: RadioGroup | None, radio: RadioSettings, name: str) -> str:
    """What the radio is doing: `name` is every receiver's label, `radio` the first one."""
    if group is None:
        return f"starting {name}"
    if len(group.supervisors) > 1:
        return ", ".join(f"{s.name} {s.state.value}" for s in group.supervisors)
    state, reason = group.state.value, group.supervisors[0].reason
    device = radio.device
    if state == "running":
        return f"up on {device}" + (f" ({reason})" if reason else "")
    if state == "stopped":
        return f"stopped: {reason}" if reason else "stopped"
    if state == "connecting" and reason == "opening":
        return f"opening {device}"
    return f"waiting for {device}: {radio_hint(reason, device, radio.kind)}"


def radio_hint(reason: str, device: str, kind: str) -> str:
    """`reason` without the repeated "cannot open DEVICE: ", plus what to check when known."""
    text = reason.removeprefix(f"cannot open {device}: ")
    lowered = text.lower()
    if "no answer" in lowered or "timed out" in lowered or "timeout" in lowered:
        return f"{text}: is `kind` right (radio.kind = {kind!r})?"
    if "permission denied" in lowered:
        return f"{text}: is the service user in group dialout?"
    if "operation not permitted" in lowered:
        return f"{text}: the unit's DeviceAllow= does not admit this device"
    if "lock" in lowered and "unavailable" in lowered:
        return f"{text}: another program holds the port"
    return text
