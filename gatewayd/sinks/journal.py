"""The readings in the log: each published reading as one INFO line, for an operator to read.

    meter 12345678 (Flat 3B): total_m3=123.456 m³, flow_m3h=0.012 m³/h, rssi -71 dBm

The meter's id and configured name, its headline value (total volume, else total energy, heat
cost units, ...), its flow when it has one, the RSSI and any active alarm. A reading that
changed the alarms is a WARNING while an alarm is active (GATEWAYD_EVENT=alarm). Fields:
METER_ID, METER_NAME (when configured), MANUFACTURER, RSSI_DBM, GATEWAYD_EVENT=reading, so that
`journalctl -u gatewayd METER_ID=76348799` shows that meter's readings.

The daemon hands a reading to this sink only once it is stored (after the outbox commit), so
each line is a reading that will reach the broker. `[log] readings = false` turns the lines
off (`enabled`); nothing is formatted for a line the logger's level would not emit.

A line never waits for journald (daemon/journalsend.py): what it could not take is counted in
this sink's `dropped` (STATUS=, the MQTT stats) and said in the journal once it reads again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gatewayd.daemon.logs import fields, journal_dropped, meter_label

if TYPE_CHECKING:
    from gatewayd.sinks.base import Reading

LOGGER = "gatewayd.readings"


def reading_line(reading: Reading) -> str:
    """`meter 12345678 (Flat 3B): total_m3=123.456 m³, flow_m3h=0.012 m³/h, rssi -71 dBm`."""
    from gatewayd.sinks.readingline import reading_body  # noqa: PLC0415 (after READY=1)

    return f"meter {meter_label(reading.id, reading.name)}: {reading_body(reading)}"


class JournalSink:
    name = "journal"

    def __init__(self, logger: logging.Logger | None = None, *, enabled: bool = True) -> None:
        self._log = logger or logging.getLogger(LOGGER)
        self.enabled = enabled  # [log] readings; a reload may change it
        self._counts = {"published": 0, "alarms": 0}

    async def start(self) -> None:
        return None

    def publish(self, reading: Reading, *, alarm_changed: bool = False) -> None:
        if not self.enabled:
            return
        alarm = alarm_changed and bool(reading.active_alarms)
        level = logging.WARNING if alarm else logging.INFO
        if not self._log.isEnabledFor(level):
            return
        extra = fields(
            "alarm" if alarm_changed else "reading",
            reading.id,
            reading.identity.manufacturer,
            reading.rssi_dbm,
            name=reading.name,
        )
        self._log.log(level, "%s", reading_line(reading), extra=extra)
        self._counts["published"] += 1
        self._counts["alarms"] += int(alarm_changed)

    def raw(self, frame: bytes, rssi_dbm: float | None) -> None:
        return None

    def stats(self) -> dict[str, int]:
        """published, alarms, and dropped: log lines (of every kind) journald never got."""
        return dict(self._counts, dropped=journal_dropped())

    async def stop(self, timeout: float) -> None:
        return None
