"""The radio's state in words an installer can act on (STATUS=, MQTT stats, BLE Status)."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

from gatewayd.daemon.logs import fields

if TYPE_CHECKING:  # the radios are imported after READY=1
    from gatewayd.config.schema import RadioSettings
    from gatewayd.radios.group import RadioGroup

log = logging.getLogger(__name__)

# The radio modules' counters of frames their checksum refused, as the stats' bad_crc.
RADIO_CRC_COUNTERS = ("crc_errors", "crc_failed", "checksum_errors")


def radio_state(group: RadioGroup | None) -> str:
    """up, down or reconnecting (the stats' radio_state); connecting before the radio exists."""
    state = "connecting" if group is None else group.state.value
    return {"running": "up", "stopped": "down"}.get(state, "reconnecting")


def radio_counts(group: RadioGroup) -> dict[str, int]:
    """The radios' counters among the daemon's (the stats' bad_crc, frames_dropped_at_close:
    frames a radio heard and closed before they were handed on)."""
    counters = group.counters
    return {
        "bad_crc": sum(int(counters.get(k, 0)) for k in RADIO_CRC_COUNTERS),
        "frames_dropped_at_close": int(counters.get("frames_dropped_at_close", 0)),
    }


def status_text(
    group: RadioGroup | None, words: str, health: str, line: str, counts: dict[str, int]
) -> str:
    """systemd's STATUS=: the radio in words, the meters' health, the counters."""
    head = "radios: " if group is not None and len(group.supervisors) > 1 else "radio "
    dropped = counts.get("frames_dropped_at_close", 0)
    tail = f", {dropped} dropped at radio close" if dropped else ""
    return f"{head}{words}; {health}; {line}{tail}"


def failure_line(exc: BaseException) -> str:
    """One log line for a bug that ended the radio loop: what, and where it was raised."""
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" at {where[0].filename}:{where[0].lineno}" if where else ""
    return (
        f"the radio loop failed: {type(exc).__name__}: {exc}{at}; stopping after the drain (exit 1)"
    )


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


async def report_radio_state(
    group: RadioGroup, name: str, up: asyncio.Event, status: Callable[[], None]
) -> None:
    """status() (STATUS=) on every radio state change; `up` set and one log line the first
    time the radio runs."""
    announced = False
    while True:
        changed = group.state_changed
        if group.state.value == "running" and not announced:
            announced = True
            up.set()
            desc = ", ".join(f"{k} {v}" for k, v in group.info.items())
            log.info(
                "radio %s ready%s",
                name,
                f" ({desc})" if desc else "",
                extra=fields("ready", radio=name),
            )
        status()
        await changed.wait()
