"""Pure MQTT knowledge: topic names and payload bytes.

No I/O here: a typed Reading goes in, topics and bytes come out. Home Assistant discovery
configs are in discovery.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the meter model and orjson are loaded after READY=1 (the decode side)
    from gatewayd.meters.model import Reading
    from gatewayd.sinks.base import HealthReport

__all__ = ["OFFLINE", "ONLINE", "Topics", "alarm_payload", "health_payload"]

ONLINE = b"online"
OFFLINE = b"offline"


@dataclass(frozen=True, slots=True)
class Topics:
    """Everything lives under `<prefix>/<gateway>/` (docs/mqtt.md)."""

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

    def health(self, meter_id: str) -> str:
        """Retained per-meter health (health.schema.json); empty once the meter is removed."""
        return f"{self.base}/health/{meter_id}"


def alarm_payload(reading: Reading) -> bytes:
    """The `alarms/<id>` message: which alarms are set now, with the reading's identity."""
    from gatewayd.meters.jsonbytes import to_json  # noqa: PLC0415 (loaded: reading is one)
    from gatewayd.meters.model import iso_utc  # noqa: PLC0415

    flags = dict(reading.alarms or {})
    return to_json(
        {
            "id": reading.id,
            "meter": reading.meter,
            "timestamp": iso_utc(reading.timestamp),
            "alarms": flags,
            "active": list(reading.active_alarms),
        }
    )


def health_payload(report: HealthReport) -> bytes:
    """The retained `health/<id>` message (health.schema.json)."""
    from gatewayd.meters.jsonbytes import to_json  # noqa: PLC0415 (after READY=1)
    from gatewayd.meters.model import iso_utc  # noqa: PLC0415

    return to_json(
        {
            "id": report.id,
            "name": report.name,
            "state": report.state,
            "last_seen": None if report.last_seen is None else iso_utc(report.last_seen),
            "interval_s": report.interval_s,
            "rssi_dbm": report.rssi_dbm,
            "telegrams": report.telegrams,
        }
    )
