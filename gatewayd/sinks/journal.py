"""A sink that logs each published reading: to journald with structured fields under systemd
(METER_ID, MANUFACTURER, RSSI_DBM, GATEWAYD_EVENT=reading), to stderr elsewhere.

`journalctl -u gatewayd METER_ID=76348799` then shows that meter's published readings.
"""

from __future__ import annotations

import json
import logging

from gatewayd.daemon.logs import fields
from gatewayd.sinks.base import Reading

_SKIP = frozenset(
    {"id", "manufacturer", "version", "device_type", "media", "rssi_dbm", "timestamp", "records"}
)


def summary(reading: Reading) -> str:
    """`reading 76348799 (multical21): {"total_m3": 6.408, ...}`, records left out."""
    named = {k: v for k, v in reading.to_dict().items() if k not in _SKIP}
    body = json.dumps(named, separators=(", ", ": "), default=str)
    return f"reading {reading.id} ({reading.meter or '?'}): {body}"


class JournalSink:
    name = "journal"

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("gatewayd.readings")
        self._counts = {"published": 0, "alarms": 0}

    async def start(self) -> None:
        return None

    def publish(self, reading: Reading, *, alarm_changed: bool = False) -> None:
        extra = fields(
            "alarm" if alarm_changed else "reading",
            reading.id,
            reading.identity.manufacturer,
            reading.rssi_dbm,
        )
        level = logging.WARNING if alarm_changed and reading.active_alarms else logging.INFO
        self._log.log(level, "%s", summary(reading), extra=extra)
        self._counts["published"] += 1
        self._counts["alarms"] += int(alarm_changed)

    def raw(self, frame: bytes, rssi_dbm: float | None) -> None:
        return None

    def stats(self) -> dict[str, int]:
        return dict(self._counts, dropped=0)

    async def stop(self, timeout: float) -> None:
        return None
