"""The typed reading: what the drivers build for one telegram and every sink reads.

A Reading is frozen and slotted. Its JSON form (the MQTT payload, the `decode` output, the
journal line, documented in docs/mqtt.md) is made only at the edges, by `to_dict()` or the
memoised `json_bytes()`, so several sinks share one encoding.

JSON layout, in this order: id, name (when configured), manufacturer, version, device_type,
meter, media, rssi_dbm, timestamp, dedup_key (when known), the named fields, the static fields
of the meter's configuration, "alarms" (only for meters that report alarm flags), "no_value"
(only when a field holds the meter's "no value" code, see novalue.py), "records" (every data
record) and "warnings" (only when the telegram was decoded in part).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from gatewayd.meters import jsonreading
from gatewayd.meters.jsonreading import OWN_KEYS, reading_json
from gatewayd.meters.novalue import NO_VALUE, is_no_value, is_no_value_of
from gatewayd.meters.roles import Medium, Role, meaning, medium_of
from gatewayd.wmbus.link import DEVICE_TYPES
from gatewayd.wmbus.records import Record, RecordHeader

Value = int | float | str | bool | None
# The keys of a reading's JSON that are not named fields (and "error"/"raw" of a decode failure).
READING_KEYS = OWN_KEYS
Alarms = Mapping[str, bool]
NO_ALARMS: Alarms = MappingProxyType({})
_HEX = frozenset("0123456789abcdefABCDEF")
iso_utc = jsonreading.iso_utc  # ISO 8601 UTC to the second (the sinks' timestamps too)


class Field(NamedTuple):
    """One named field: wmbusmeters' name, the value (in `unit`), and what it means."""

    name: str
    value: Value
    role: Role
    unit: str  # "m3", "m3h", "c", "kwh", ... ; "" for text, dates and counts
    rank: int | None = None  # headline order within its role (see roles.py); None: never
    no_value: bool = False  # the value is the meter's code for "no value" (novalue.py)

    @property
    def number(self) -> float | None:
        """The value as a number; None for text, for no value, and for a "no value" code."""
        v = self.value
        if self.no_value or isinstance(v, bool) or not isinstance(v, int | float):
            return None
        return float(v)


def make_field(name: str, value: Value, medium: Medium, meter: str = "") -> Field:
    m = meaning(name, medium)
    return Field(name, value, m.role, m.unit, m.rank, is_no_value(meter, name, value))


@dataclass(frozen=True, slots=True)
class Identity:
    """Who sent the telegram and which driver named its fields."""

    id: str  # 8 hex digits (BCD on the link layer), as in the MQTT topic
    manufacturer: str  # EN 13757 three-letter code, e.g. "KAM"
    version: int
    device_type: int  # the link-layer device type byte
    media: str  # the device type in words, e.g. "cold water"
    meter: str  # the driver's name (wmbusmeters' name for the same meter)

    def __post_init__(self) -> None:
        if len(self.id) != 8 or not _HEX.issuperset(self.id):
            raise ValueError(f"meter id is not 8 hex digits: {self.id!r}")

    @property
    def medium(self) -> Medium:
        return medium_of(self.device_type)


# A record's JSON object but its value, per header (a meter repeats the same few headers):
# difvif -> (the header it was made for, the object with "value" in its place).
_RECORD_TEMPLATES: dict[bytes, tuple[RecordHeader, dict[str, object]]] = {}
MAX_RECORD_TEMPLATES = 4096


def record_dict(rec: Record) -> dict[str, object]:
    h = rec.header
    known = _RECORD_TEMPLATES.get(h.difvif)
    if known is None or known[0] is not h:
        # the same header parsed again (by a new decoder, after a reload) keeps its template
        same = known is not None and known[0] == h
        known = (h, known[1] if known is not None and same else _template(h))
        if len(_RECORD_TEMPLATES) >= MAX_RECORD_TEMPLATES:
            _RECORD_TEMPLATES.clear()
        _RECORD_TEMPLATES[h.difvif] = known
    out = known[1].copy()
    out["value"] = rec.value  # the key keeps its place (second)
    return out


def _template(h: RecordHeader) -> dict[str, object]:
    return {
        "quantity": h.quantity,
        "value": None,
        "unit": h.unit,
        "storage": h.storage,
        "tariff": h.tariff,
        "subunit": h.subunit,
        "function": h.function,
        "difvif": h.difvif.hex().upper(),
    }


@dataclass(frozen=True, slots=True)
class Reading:
    """One decoded telegram. `values` holds the named fields (wmbusmeters names, in the
    driver's order); `fields` gives each with its role and unit (decided by the meters layer,
    see roles.py), made on demand so that a reading nobody asks about costs no more."""

    identity: Identity
    timestamp: float  # reception time, Unix seconds
    rssi_dbm: float | None
    values: Mapping[str, Value]
    alarms: Alarms | None = None  # None: the meter reports no alarm flags
    records: tuple[Record, ...] = ()
    warnings: tuple[str, ...] = ()
    name: str | None = None  # the configured meter name
    dedup_key: str | None = None  # identifies the telegram across redeliveries and gateways
    static: tuple[tuple[str, Value], ...] = ()  # fixed fields from the meter's configuration
    receivers: tuple[str, ...] = ()  # with several radios: every receiver that heard it
    _json: list[bytes] = field(default_factory=list, init=False, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.identity.id

    @property
    def meter(self) -> str:
        return self.identity.meter

    @property
    def medium(self) -> Medium:
        return self.identity.medium

    @property
    def fields(self) -> tuple[Field, ...]:
        medium, meter = self.identity.medium, self.identity.meter
        return tuple(make_field(k, v, medium, meter) for k, v in self.values.items())

    def named(self, name: str) -> Field | None:
        if name not in self.values:
            return None
        return make_field(name, self.values[name], self.identity.medium, self.identity.meter)

    @property
    def no_value(self) -> tuple[str, ...]:
        """The named fields whose value is the meter's code for "no value" (novalue.py)."""
        codes = NO_VALUE.get(self.identity.meter)
        if codes is None:  # most drivers: nothing to look at
            return ()
        values = self.values
        for k in codes.keys() & values.keys():  # the fields with a code (a set, at C speed)
            if is_no_value_of(codes, k, values[k]):
                break
        else:
            return ()  # none holds its code: the usual case
        return tuple([k for k in values if k in codes and is_no_value_of(codes, k, values[k])])

    def by_role(self, role: Role) -> Iterator[Field]:
        return (f for f in self.fields if f.role is role)

    def headline_field(self, role: Role) -> Field | None:
        """The best-ranked field of `role` that has a number (e.g. the meter's total volume),
        or None."""
        best: tuple[int, Field] | None = None
        for f in self.fields:
            if f.role is not role or f.rank is None:
                continue
            n = f.number
            if n is not None and (best is None or f.rank < best[0]):
                best = (f.rank, f)
        return None if best is None else best[1]

    def headline(self, role: Role) -> float | None:
        """The number of `headline_field(role)`, or None."""
        f = self.headline_field(role)
        return None if f is None else f.number

    @property
    def active_alarms(self) -> tuple[str, ...]:
        return tuple(sorted(k for k, v in (self.alarms or NO_ALARMS).items() if v))

    # ---- the edges: JSON

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON object (docs/mqtt.md), keys in their documented order."""
        i = self.identity
        if self.name is None:
            out: dict[str, Any] = _identity_head(i)
        else:
            out = {"id": i.id, "name": self.name}
            out.update(_identity_head(i))
        out["rssi_dbm"] = self.rssi_dbm
        out["timestamp"] = iso_utc(self.timestamp)
        if self.dedup_key is not None:
            out["dedup_key"] = self.dedup_key
        if self.receivers:
            out["receivers"] = list(self.receivers)
        values = self.values
        out.update(values.copy() if type(values) is MappingProxyType else dict(values))
        for k, v in self.static:
            out.setdefault(k, v)
        if self.alarms is not None:
            out["alarms"] = _plain(self.alarms)
        if none := self.no_value:
            out["no_value"] = list(none)
        records = []
        templates = _RECORD_TEMPLATES
        for r in self.records:  # record_dict(r) for each, its usual case inline
            h = r.header
            known = templates.get(h.difvif)
            if known is None or known[0] is not h:
                records.append(record_dict(r))
            else:
                rec = known[1].copy()
                rec["value"] = r.value
                records.append(rec)
        out["records"] = records
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out

    def json_bytes(self) -> bytes:
        """Compact UTF-8 JSON of to_dict() (NaN and infinity refused: ValueError), made once
        per reading however many sinks ask; written without to_dict() (see jsonreading.py)."""
        if not self._json:
            self._json.append(reading_json(self))
        return self._json[0]


# A reading's JSON begins with its identity's keys (id, manufacturer, version, device_type,
# meter, media, in that order): made once per Identity (identities are few and kept, see
# reading.py), copied per reading. Keyed by the object, held with it so its id stays its own.
_HEADS: dict[int, tuple[Identity, dict[str, Any]]] = {}
MAX_HEADS = 65536


def _identity_head(i: Identity) -> dict[str, Any]:
    known = _HEADS.get(id(i))
    if known is None or known[0] is not i:
        head = {"id": i.id, "manufacturer": i.manufacturer, "version": i.version,
                "device_type": i.media, "meter": i.meter, "media": i.media}  # fmt: skip
        if len(_HEADS) >= MAX_HEADS:
            _HEADS.clear()
        known = _HEADS[id(i)] = (i, head)
    return known[1].copy()


def _plain(m: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict of `m`: a mapping proxy copies at C speed (dict(proxy) and update(proxy) go
    key by key through the mapping protocol, several times slower)."""
    return m.copy() if isinstance(m, MappingProxyType) else dict(m)


# ---- back from JSON (consumers, tests, replays of published payloads)

_DEVICE_CODES: Mapping[str, int] = MappingProxyType(
    {words: code for code, words in sorted(DEVICE_TYPES.items(), reverse=True)}
)


def _record(obj: Mapping[str, Any]) -> Record:
    difvif = bytes.fromhex(str(obj["difvif"]))
    header = RecordHeader(
        difvif=difvif,
        data_code=difvif[0] & 0x0F if difvif else 0,
        size=0,
        function=str(obj["function"]),
        storage=int(obj["storage"]),
        tariff=int(obj["tariff"]),
        subunit=int(obj["subunit"]),
        quantity=str(obj["quantity"]),
        unit=str(obj["unit"]),
        scale=1.0,
        kind="number",
        combinables=(),
    )
    value = obj["value"]
    if not isinstance(value, int | float | str | type(None)) or isinstance(value, bool):
        raise ValueError(f"record value {value!r} is not a number, text or null")
    return Record(header, value, b"")


def from_dict(obj: Mapping[str, Any]) -> Reading:
    """A Reading from its JSON object (missing identity keys get neutral defaults).

    Raises ValueError when the id is not 8 hex digits or a value is not JSON-representable.
    """
    mid = obj.get("id")
    if not isinstance(mid, str) or len(mid) != 8 or not _HEX.issuperset(mid):
        raise ValueError(f"reading has no 8-hex-digit meter id: {mid!r}")
    media = str(obj.get("media") or obj.get("device_type") or "other")
    identity = Identity(
        id=mid,
        manufacturer=str(obj.get("manufacturer", "")),
        version=int(obj.get("version", 0)),
        device_type=_DEVICE_CODES.get(media, 0x00),
        media=media,
        meter=str(obj.get("meter", "")),
    )
    ts = obj.get("timestamp")
    epoch = _parse_iso(ts) if isinstance(ts, str) else 0.0
    rssi = obj.get("rssi_dbm")
    fixed = READING_KEYS
    values: dict[str, Value] = {}
    for k, v in obj.items():
        if k in fixed:
            continue
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"field {k!r} is not a finite number")
        if not isinstance(v, int | float | str | bool | type(None)):
            raise ValueError(f"field {k!r} is not a JSON scalar")
        values[k] = v
    alarms = obj.get("alarms")
    try:
        records = tuple(_record(r) for r in obj.get("records", ()))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed record: {exc!r}") from None
    name = obj.get("name")
    key = obj.get("dedup_key")
    receivers = obj.get("receivers", ())
    return Reading(
        identity=identity,
        timestamp=epoch,
        rssi_dbm=float(rssi) if isinstance(rssi, int | float) else None,
        values=MappingProxyType(values),
        alarms=MappingProxyType({str(k): bool(v) for k, v in alarms.items()})
        if isinstance(alarms, Mapping)
        else None,
        records=records,
        warnings=tuple(str(w) for w in obj.get("warnings", ())),
        name=name if isinstance(name, str) else None,
        dedup_key=key if isinstance(key, str) else None,
        receivers=tuple(str(r) for r in receivers) if isinstance(receivers, list) else (),
    )


def _parse_iso(text: str) -> float:
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return 0.0
