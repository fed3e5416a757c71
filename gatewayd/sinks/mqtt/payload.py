"""Pure MQTT knowledge: topic names and payload bytes.

No I/O here: a typed Reading goes in, topics and bytes come out. Home Assistant discovery
configs are in discovery.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatewayd.meters.jsonbytes import to_json
from gatewayd.meters.model import Reading, iso_utc
from gatewayd.sinks.base import HealthReport

__all__ = ["OFFLINE", "ONLINE", "Topics", "alarm_payload", "health_payload", "to_json"]

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
