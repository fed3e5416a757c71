"""A reading: the JSON object published for one telegram (DESIGN.md §4.2), and per-meter state.

Layout: id, manufacturer, version, device_type, meter (our driver's name, as wmbusmeters names
it), media, rssi_dbm, timestamp, the driver's named fields, "alarms" (only from drivers whose
meters report alarm flags, once a telegram carried the flag word: all five of dry, reverse,
leak, burst, tamper; omitted otherwise, e.g. for the generic OMS driver), and "records": every
data record of the telegram.

Like wmbusmeters, a named field missing from a later telegram of the same meter keeps its last
value: pass one MeterState across telegrams. MeterState is plain data (to_json / from_json) so
the daemon can persist it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from gatewayd.meters.registry import driver_for
from gatewayd.wmbus.records import Record, RecordHeader
from gatewayd.wmbus.telegram import Telegram

STATE_VERSION = 1


@dataclass(slots=True)
class MeterMemory:
    """What we remember about one meter: its driver's name, last named fields, last alarms."""

    meter: str
    fields: dict[str, object] = field(default_factory=dict)
    alarms: dict[str, bool] | None = None


class MeterState:
    """Per meter id, the last named fields and alarms. Not thread-safe (one pipeline owns it)."""

    __slots__ = ("_meters",)

    def __init__(self) -> None:
        self._meters: dict[str, MeterMemory] = {}

    def __len__(self) -> int:
        return len(self._meters)

    def __contains__(self, meter_id: object) -> bool:
        return meter_id in self._meters

    def get(self, meter_id: str) -> MeterMemory | None:
        return self._meters.get(meter_id)

    def forget(self, meter_id: str) -> None:
        self._meters.pop(meter_id, None)

    def update(
        self,
        meter_id: str,
        meter: str,
        fields: dict[str, object],
        alarms: dict[str, bool] | None,
    ) -> tuple[dict[str, object], dict[str, bool] | None]:
        """Merge one telegram's fields into the meter's memory; return the merged view.

        A meter that changes driver starts afresh (its old fields meant something else).
        """
        mem = self._meters.get(meter_id)
        if mem is None or mem.meter != meter:
            mem = self._meters[meter_id] = MeterMemory(meter)
        mem.fields.update(fields)
        if alarms is not None:
            mem.alarms = alarms
        return dict(mem.fields), (dict(mem.alarms) if mem.alarms is not None else None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "meters": {
                mid: {"meter": m.meter, "fields": m.fields, "alarms": m.alarms}
                for mid, m in self._meters.items()
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeterState:
        """Rebuild from to_dict() output. Raises ValueError on a malformed or newer document."""
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError(f"meter state: expected version {STATE_VERSION}")
        meters = data.get("meters")
        if not isinstance(meters, dict):
            raise ValueError("meter state: 'meters' must be an object")
        state = cls()
        for mid, m in meters.items():
            if not isinstance(m, dict) or not isinstance(m.get("meter"), str):
                raise ValueError(f"meter state: bad entry for meter {mid!r}")
            fields = m.get("fields") or {}
            alarms = m.get("alarms")
            if not isinstance(fields, dict) or not (alarms is None or isinstance(alarms, dict)):
                raise ValueError(f"meter state: bad fields/alarms for meter {mid!r}")
            state._meters[str(mid)] = MeterMemory(
                m["meter"],
                dict(fields),
                {str(k): bool(v) for k, v in alarms.items()} if alarms else None,
            )
        return state

    @classmethod
    def from_json(cls, text: str) -> MeterState:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"meter state: not JSON ({exc.msg})") from None
        return cls.from_dict(data)


# Record JSON templates, one per header byte string: everything but the value is fixed by the
# header, so a reading copies a template and sets "value".
_TEMPLATES: dict[bytes, dict[str, object]] = {}
_TEMPLATES_MAX = 4096


def _template(h: RecordHeader) -> dict[str, object]:
    t = _TEMPLATES.get(h.difvif)
    if t is None:
        t = {
            "quantity": h.quantity,
            "value": None,
            "unit": h.unit,
            "storage": h.storage,
            "tariff": h.tariff,
            "subunit": h.subunit,
            "function": h.function,
            "difvif": h.difvif.hex().upper(),
        }
        if len(_TEMPLATES) < _TEMPLATES_MAX:
            _TEMPLATES[h.difvif] = t
    return t


def record_json(rec: Record) -> dict[str, object]:
    d = _template(rec.header).copy()
    d["value"] = rec.value
    return d


def utc_timestamp(epoch: float | None = None) -> str:
    """ISO 8601 UTC to the second, e.g. 2026-11-26T08:40:30Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def build_reading(
    telegram: Telegram,
    *,
    driver: str = "auto",
    state: MeterState | None = None,
    rssi_dbm: float | None = None,
    timestamp: str | None = None,
) -> dict[str, object]:
    """The reading for one decoded telegram (timestamp defaults to now, UTC).

    Raises registry.UnknownDriverError for an unknown driver name.
    """
    addr = telegram.address
    drv = driver_for(addr, driver, telegram.ci)
    fields, alarms = drv.decode(telegram)
    if state is not None:
        fields, alarms = state.update(addr.id, drv.name, fields, alarms)
    media = addr.media
    out: dict[str, object] = {
        "id": addr.id,
        "manufacturer": addr.manufacturer,
        "version": addr.version,
        "device_type": media,
        "meter": drv.name,
        "media": media,
        "rssi_dbm": rssi_dbm,
        "timestamp": timestamp if timestamp is not None else utc_timestamp(),
    }
    out.update(fields)
    if alarms is not None:
        out["alarms"] = alarms
    out["records"] = [record_json(r) for r in telegram.records]
    if telegram.warnings:
        out["warnings"] = list(telegram.warnings)
    return out
