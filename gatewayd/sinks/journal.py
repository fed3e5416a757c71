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
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gatewayd.daemon.logs import fields, meter_label
from gatewayd.meters.roles import Medium, Role

if TYPE_CHECKING:
    from gatewayd.sinks.base import Reading

LOGGER = "gatewayd.readings"
# The headline value: the first of these roles the reading has (best-ranked field first);
# a heat or electricity meter's energy before its volume, a heat cost allocator's units first.
MAIN_ROLES = (
    Role.TOTAL_VOLUME,
    Role.TOTAL_ENERGY,
    Role.HEAT_COST,
    Role.VOLUME,
    Role.ENERGY,
    Role.POWER,
    Role.WATER_TEMPERATURE,
    Role.AMBIENT_TEMPERATURE,
    Role.HUMIDITY,
)
_FIRST = {Medium.HEAT: Role.TOTAL_ENERGY, Medium.ELECTRICITY: Role.TOTAL_ENERGY}
_FIRST[Medium.HEAT_COST] = Role.HEAT_COST
MAIN_BY_MEDIUM = {
    medium: (first, *(r for r in MAIN_ROLES if r is not first)) for medium, first in _FIRST.items()
}
_WANTED = frozenset((*MAIN_ROLES, Role.VOLUME_FLOW, Role.STATUS))
UNIT_SYMBOLS = {
    "m3": "m³",
    "m3h": "m³/h",
    "c": "°C",
    "kwh": "kWh",
    "mwh": "MWh",
    "gj": "GJ",
    "kw": "kW",
    "bar": "bar",
    "rh": "%RH",
}


def _best(reading: Reading) -> dict[Role, tuple[str, object, str]]:
    """Per wanted role, the best field: (name, value, unit). Ranked before unranked, then
    the driver's order; numbers only (a meter's "no value" code is none), except for a status
    text other than "" and "OK"."""
    best: dict[Role, tuple[int, str, object, str]] = {}
    for f in reading.fields:
        if f.role not in _WANTED:
            continue
        if f.role is Role.STATUS:
            if not isinstance(f.value, str) or f.value in ("", "OK"):
                continue  # a status text only when it says something
        elif f.number is None:
            continue
        order = f.rank if f.rank is not None else 1 << 16
        seen = best.get(f.role)
        if seen is None or order < seen[0]:
            best[f.role] = (order, f.name, f.value, f.unit)
    return {role: (n, v, u) for role, (_o, n, v, u) in best.items()}


def _value(name: str, value: object, unit: str) -> str:
    symbol = UNIT_SYMBOLS.get(unit, "")
    return f"{name}={value} {symbol}" if symbol else f"{name}={value}"


def reading_line(reading: Reading) -> str:
    """`meter 12345678 (Flat 3B): total_m3=123.456 m³, flow_m3h=0.012 m³/h, rssi -71 dBm`."""
    best = _best(reading)
    parts: list[str] = []
    order = MAIN_BY_MEDIUM.get(reading.medium, MAIN_ROLES)
    main = next((best[r] for r in order if r in best), None)
    if main is not None:
        parts.append(_value(*main))
    flow = best.get(Role.VOLUME_FLOW)
    if flow is not None:
        parts.append(_value(*flow))
    status = best.get(Role.STATUS)
    if status is not None:
        parts.append(f"{status[0]}={status[1]}")
    if reading.rssi_dbm is not None:
        parts.append(f"rssi {reading.rssi_dbm:g} dBm")
    alarms = reading.active_alarms
    if alarms:
        parts.append("alarms: " + " ".join(alarms))
    body = ", ".join(parts) or f"{reading.meter or 'unknown driver'}, no value"
    return f"meter {meter_label(reading.id, reading.name)}: {body}"


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
        return dict(self._counts, dropped=0)

    async def stop(self, timeout: float) -> None:
        return None
