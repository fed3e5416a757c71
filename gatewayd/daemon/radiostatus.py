"""The radio supervisor's last failure in words an installer can act on (STATUS=, MQTT stats)."""

from __future__ import annotations


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
