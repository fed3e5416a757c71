"""What `gatewayd ble read` prints: decoded values as text lines and as JSON, pure.

Every field is shown as docs/ble.md defines it (n/a markers as "n/a" / null); nothing here
touches bleak or D-Bus.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gatewayd.sinks.ble import gatt

STATUS_NAMES = dict(gatt.STATUS_BITS)


def alarm_names(status: int) -> list[str]:
    """Status bits as names: ["dry", "leak"], ["no alarm information"] or [] (no alarm)."""
    names = [name for bit, name in gatt.STATUS_BITS if status & (1 << bit)]
    if status & gatt.STATUS_NO_ALARM_INFO:
        names.append("no alarm information")
    return names


def health_state(status: int) -> str:
    """The meter's health from its status bits: "ok", "silent" or "never_heard"."""
    for bit, name in gatt.HEALTH_BITS:
        if status & (1 << bit):
            return name
    return "ok"


def iso_time(timestamp: int) -> str | None:
    if timestamp == 0:
        return None
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_json(rec: gatt.ReadingRecord) -> dict[str, Any]:
    return {
        "id": rec.meter_id,
        "total_m3": None if rec.total_l is None else rec.total_l / 1000,
        "timestamp": iso_time(rec.timestamp),
        "status": rec.status,
        "alarms": alarm_names(rec.status),
        "health": health_state(rec.status),
        "flow_m3h": None if rec.flow_lh is None else rec.flow_lh / 1000,
        "water_temperature_c": rec.water_c,
        "ambient_temperature_c": rec.ambient_c,
        "rssi_dbm": rec.rssi_dbm,
    }


def _na(value: object, fmt: str) -> str:
    return "n/a" if value is None else fmt.format(value)


def record_line(rec: gatt.ReadingRecord) -> str:
    """`76348799  6.408 m³  2026-11-26T08:40:30Z  dry  flow n/a  water n/a  ambient 19 °C
    RSSI -71 dBm` (one line), then `  SILENT` or `  NEVER HEARD` when the meter is not ok."""
    total = _na(None if rec.total_l is None else rec.total_l / 1000, "{:.3f} m³")
    flow = _na(None if rec.flow_lh is None else rec.flow_lh / 1000, "{:.3f} m³/h")
    alarms = ",".join(alarm_names(rec.status)) or "no alarm"
    return (
        f"{rec.meter_id}  {total}  {iso_time(rec.timestamp) or 'time n/a'}  {alarms}  "
        f"flow {flow}  water {_na(rec.water_c, '{} °C')}  ambient {_na(rec.ambient_c, '{} °C')}  "
        f"RSSI {_na(rec.rssi_dbm, '{} dBm')}"
    ) + _health_suffix(rec.status)


def _health_suffix(status: int) -> str:
    state = health_state(status)
    return "" if state == "ok" else "  " + state.replace("_", " ").upper()


def status_json(s: gatt.StatusValue) -> dict[str, Any]:
    return {
        "version": ".".join(map(str, s.software)),
        "uptime_s": s.uptime_s,
        "radio": s.radio_state,
        "meters_known": s.meters_known,
        "counters": dict(s.counters),
        "meters_by_health": None if s.health is None else dict(s.health),
        "radio_status": s.radio_status,
    }


def status_lines(s: gatt.StatusValue) -> list[str]:
    counters = ", ".join(f"{n} {_na(v, '{}')}" for n, v in s.counters.items())
    plural = "" if s.meters_known == 1 else "s"
    return [
        f"status: gatewayd {'.'.join(map(str, s.software))}, up {s.uptime_s} s, "
        f"radio {s.radio_state}, {s.meters_known} meter{plural} known",
        f"  counters: {counters}",
        *_health_lines(s),
    ]


def _health_lines(s: gatt.StatusValue) -> list[str]:
    """`  meters: 1 ok, 0 silent, 0 never heard; radio: up on /dev/wmbus0` (gateways that
    send them)."""
    if s.health is None:
        return []
    by_state = ", ".join(
        f"{_na(s.health.get(n), '{}')} {n.replace('_', ' ')}" for n in gatt.HEALTH_STATES
    )
    radio = f"; radio: {s.radio_status}" if s.radio_status else ""
    return [f"  meters: {by_state}{radio}"]


def meters_json(page: gatt.MetersPage) -> dict[str, Any]:
    return {
        "known": page.known,
        "page": page.page,
        "pages": gatt.page_count(page.known),
        "records": [record_json(gatt.decode_record(r)) for r in page.records],
    }


def meters_lines(page: gatt.MetersPage) -> list[str]:
    head = (
        f"meters: {page.known} known, page {page.page} of {gatt.page_count(page.known)} "
        f"({len(page.records)} here)"
    )
    return [head, *("  " + record_line(gatt.decode_record(r)) for r in page.records)]


def raw_json(seq: int, rssi: int | None, telegram: bytes) -> dict[str, Any]:
    return {"seq": seq, "rssi_dbm": rssi, "telegram": telegram.hex()}


def raw_line(seq: int, rssi: int | None, telegram: bytes) -> str:
    return f"raw #{seq}  RSSI {_na(rssi, '{} dBm')}  {len(telegram)} bytes  {telegram.hex()}"
