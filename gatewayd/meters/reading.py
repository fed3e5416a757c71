"""Building a Reading (model.py) from a decoded telegram, and the per-meter memory behind it.

The driver names the fields; model.make_field attaches each one's role and unit. "alarms" come
only from drivers whose meters report alarm flags, once a telegram carried the flag word (all
five of dry, reverse, leak, burst, tamper); None otherwise, e.g. for the generic OMS driver.

Like wmbusmeters, a named field missing from a later telegram of the same meter keeps its last
value: pass one MeterState across telegrams. MeterState is plain data (to_json / from_json) so
the daemon can persist it.
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast

from gatewayd.meters.model import Identity, Reading, Value
from gatewayd.meters.registry import GENERIC_NAME, driver_for
from gatewayd.wmbus.ci import CI_TABLE
from gatewayd.wmbus.errors import UnreadDataError
from gatewayd.wmbus.frozen import slot_setters
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
        # Not sorted: the fields keep the order they are published in after a restart.
        return json.dumps(self.to_dict(), separators=(",", ":"))

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


def telegram_key(telegram: Telegram) -> str:
    """`<id>-<access number>-<CRC-32>`: the same for every copy of one telegram, whichever
    gateway or repeater it came through (the CRC covers the bytes after the last header, which
    repeaters never touch), different for the meter's next telegram (a new access number)."""
    ell, tpl = telegram.ell, telegram.tpl
    acc = ell.acc if ell is not None else tpl.acc if tpl is not None else None
    body_at = telegram.headers.body_at if telegram.headers is not None else 10
    crc = zlib.crc32(telegram.frame[body_at:])
    if acc is None:
        return "%s----%08X" % (telegram.address.id, crc)  # noqa: UP031 (cheaper than f"{:02X}")
    return "%s-%02X-%08X" % (telegram.address.id, acc, crc)  # noqa: UP031


def unread_data(telegram: Telegram) -> int:
    """How many data bytes the telegram carries (0x2F fill excluded) that are not records:
    a manufacturer layout, to be read by the meter's own driver. 0 for a CI that announces no
    application data."""
    info = CI_TABLE.get(telegram.ci)
    if info is not None and info.apl == "none":
        return 0
    data = telegram.manufacturer_data if telegram.manufacturer_data is not None else telegram.apl
    return sum(1 for b in data if b != 0x2F)


def _unread_reason(telegram: Telegram, driver: str, n: int) -> str:
    a, tpl = telegram.address, telegram.tpl
    if 0xA0 <= telegram.ci <= 0xB7:
        where = f"manufacturer CI 0x{telegram.ci:02X} frame"
    elif tpl is not None and tpl.security_mode >= 16:
        where = f"frame in vendor security mode {tpl.security_mode}"
    else:
        where = "manufacturer data"
    meter = f"{a.manufacturer} version 0x{a.version:02X} device type 0x{a.device_type:02X}"
    if driver == GENERIC_NAME:
        return f"no driver reads this {meter} {where} ({n} data bytes): nothing decoded"
    return f"driver {driver} read nothing from this {meter} {where} ({n} data bytes)"


# Identities are immutable and a meter sends many telegrams: one object per meter and driver.
_IDENTITIES: dict[tuple[str, str, int, int, str], Identity] = {}
MAX_IDENTITIES = 65536


def build_reading(
    telegram: Telegram,
    *,
    driver: str = "auto",
    state: MeterState | None = None,
    rssi_dbm: float | None = None,
    received_at: float | None = None,
    name: str | None = None,
    dedup_key: str | None = None,
    static: tuple[tuple[str, Value], ...] = (),
    receivers: tuple[str, ...] = (),
) -> Reading:
    """The reading for one decoded telegram (received_at: Unix seconds, default now).

    name: the configured meter name; static: the meter's configured fixed fields (merged into
    the JSON after the decoded ones, never overriding one); dedup_key defaults to
    telegram_key(telegram). Raises registry.UnknownDriverError for an unknown driver name, and
    UnreadDataError (a TelegramError) when the telegram carries data but neither a record nor
    a value (nor a status other than OK) came out of it: a layout we cannot read must not look
    like an empty reading.
    """
    addr = telegram.address
    drv = driver_for(addr, driver, telegram.ci, telegram.link.address)
    fields, alarms = drv.decode(telegram)
    if not telegram.records and not any(
        v is not None and (k != "status" or v != "OK") for k, v in fields.items()
    ):
        unread = unread_data(telegram)
        if unread:
            raise UnreadDataError(_unread_reason(telegram, drv.name, unread), addr.id)
    if state is not None:
        fields, alarms = state.update(addr.id, drv.name, fields, alarms)
    who = (addr.id, addr.manufacturer, addr.version, addr.device_type, drv.name)
    identity = _IDENTITIES.get(who)
    if identity is None:
        identity = Identity(
            id=addr.id,
            manufacturer=addr.manufacturer,
            version=addr.version,
            device_type=addr.device_type,
            media=addr.media,
            meter=drv.name,
        )
        if len(_IDENTITIES) >= MAX_IDENTITIES:
            _IDENTITIES.clear()
        _IDENTITIES[who] = identity
    # Reading(...) field by field, as its __init__ would set them (see wmbus/frozen.py)
    r = _new(Reading)
    _r_identity(r, identity)
    _r_timestamp(r, time.time() if received_at is None else received_at)
    _r_rssi_dbm(r, rssi_dbm)
    _r_values(r, MappingProxyType(cast(_Values, fields)))
    _r_alarms(r, MappingProxyType(alarms) if alarms is not None else None)
    _r_records(r, telegram.records)
    _r_warnings(r, tuple(telegram.warnings))
    _r_name(r, name)
    _r_dedup_key(r, telegram_key(telegram) if dedup_key is None else dedup_key)
    _r_static(r, static)
    _r_receivers(r, receivers)
    _r_json(r, [])  # the memoised JSON, made on demand
    return r


_Values = dict[str, Value]  # made once: a subscript in the hot path would build it per call
_new = object.__new__
(_r_identity, _r_timestamp, _r_rssi_dbm, _r_values, _r_alarms, _r_records, _r_warnings, _r_name,
 _r_dedup_key, _r_static, _r_receivers, _r_json) = slot_setters(
    Reading, "identity", "timestamp", "rssi_dbm", "values", "alarms", "records", "warnings", "name",
    "dedup_key", "static", "receivers", "_json",
)  # fmt: skip
