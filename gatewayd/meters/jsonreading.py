"""A reading's JSON bytes (model.Reading.json_bytes), written without the dict of to_dict().

The bytes are those of `to_json(reading.to_dict())`, byte for byte: orjson writes a dict as
`{` + its items joined by `,` + `}`, each value as it would write it alone, so the same items
written in pieces and joined are the same bytes. What is the same for many readings is written
once and kept: a meter's identity head (id, name, manufacturer ... media), and per sequence of
record headers the records' JSON with a hole for each value. Per reading, orjson writes the
named fields (one dict), the alarms and the record values (one list, split at its commas).

Whatever this writer does not do exactly as to_dict() would (a named or static field that
shares its name with a key of the reading's own, a value orjson refuses, a "null" in the bytes
that is not a None: a NaN, an infinity) goes the old way, to_json(reading.to_dict()), which
refuses NaN and infinity.
"""

from __future__ import annotations

import math
import time
from operator import attrgetter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import orjson

from gatewayd.meters.jsonbytes import to_json

if TYPE_CHECKING:
    from gatewayd.meters.model import Identity, Reading
    from gatewayd.wmbus.records import Record, RecordHeader

_dumps = orjson.dumps
_header = attrgetter("header")
_value = attrgetter("value")
# The keys to_dict() writes itself (and those of a decode failure): a named or static field of
# one of these names takes that key's place in to_dict(), so such a reading goes the old way.
OWN_KEYS = frozenset(
    {"id", "name", "manufacturer", "version", "device_type", "meter", "media", "rssi_dbm"}
    | {"timestamp", "dedup_key", "receivers", "alarms", "no_value", "records", "warnings"}
    | {"error", "raw"}
)

_last_second: list[tuple[int, str]] = [(-1, "")]  # readings come in bursts within a second


def iso_utc(epoch: float) -> str:
    """ISO 8601 UTC to the second, e.g. 2026-11-26T08:40:30Z."""
    second = math.floor(epoch)
    last = _last_second[0]
    if last[0] == second:
        return last[1]
    text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    _last_second[0] = (second, text)
    return text


def dict_json(reading: Reading) -> bytes:
    """to_json(reading.to_dict()), its None values counted for to_json's NaN check."""
    d = reading.to_dict()
    # The nulls this object writes: its top-level None values (rssi_dbm without an RSSI, above
    # all) and records without a value. Counting them at C speed spares the walk for NaN that a
    # null in the JSON would otherwise need.
    nones = list(d.values()).count(None)
    nones += sum(1 for r in d["records"] if r.get("value") is None)
    return to_json(d, nones)


def reading_json(reading: Reading) -> bytes:
    """The reading's JSON: the bytes of dict_json(reading), without its dict when it can."""
    try:
        out = _pieces(reading)
    except TypeError:  # orjson.JSONEncodeError: a value orjson does not write
        out = None
    return dict_json(reading) if out is None else out


# ---- what is kept

# id(identity) -> (identity, name, b'{"id":..."media":"..."'): the head of to_dict() up to
# rssi_dbm (identities are few and kept, see reading.py; held here so each id stays its own).
_HEADS: dict[int, tuple[Identity, str | None, bytes]] = {}
# the ids of a sequence of record headers -> (the headers, held so the ids stay theirs; the
# records' JSON array with %s for each value, other % doubled)
_RECORDS: dict[tuple[int, ...], tuple[tuple[RecordHeader, ...], bytes | None]] = {}
MAX_KEPT = 4096
_timestamp: list[tuple[str, bytes]] = [("", b"")]  # the last timestamp's text and its bytes


def _head(i: Identity, name: str | None) -> bytes | None:
    known = _HEADS.get(id(i))
    if known is not None and known[0] is i and known[1] == name:
        return known[2]
    head: dict[str, Any] = {"id": i.id} if name is None else {"id": i.id, "name": name}
    head |= {"manufacturer": i.manufacturer, "version": i.version, "device_type": i.media,
             "meter": i.meter, "media": i.media}  # fmt: skip
    text = _dumps(head)[:-1]
    if b"null" in text:  # not for a NaN: checked per reading
        return None
    if len(_HEADS) >= MAX_KEPT:
        _HEADS.clear()
    _HEADS[id(i)] = (i, name, text)
    return text


def _records_template(
    records: tuple[Record, ...], key: tuple[int, ...]
) -> tuple[tuple[RecordHeader, ...], bytes | None]:
    heads = tuple([r.header for r in records])
    items = []
    for h in heads:  # record_dict(): quantity, value, unit, storage, ... difvif
        before = _dumps({"quantity": h.quantity})[:-1] + b',"value":'
        rest = {"unit": h.unit, "storage": h.storage, "tariff": h.tariff, "subunit": h.subunit,
                "function": h.function, "difvif": h.difvif.hex().upper()}  # fmt: skip
        after = b"," + _dumps(rest)[1:]
        items.append(before.replace(b"%", b"%%") + b"%s" + after.replace(b"%", b"%%"))
    template = b',"records":[' + b",".join(items) + b"]"
    kept = (heads, None if b"null" in template else template)  # None: the old way
    if len(_RECORDS) >= MAX_KEPT:
        _RECORDS.clear()
    _RECORDS[key] = kept
    return kept


# ---- the writer


def _pieces(r: Reading) -> bytes | None:
    """The JSON in pieces; None where it must go the old way.

    NaN and infinity: orjson writes them as null, so every piece a number of the reading's
    is written in is looked at for "null" (never the whole JSON: its named fields and record
    values, whose None values are counted when there is one; the rest must have none). The
    pieces that are kept were looked at when they were made."""
    values = r.values
    if type(values) is not MappingProxyType and type(values) is not dict:
        return None
    named = values.copy()  # the reading's own is not touched
    if type(named) is not dict or not OWN_KEYS.isdisjoint(named):
        return None
    if r.static:
        for k, v in r.static:  # after the decoded fields, never overriding one (setdefault)
            if k in OWN_KEYS:
                return None
            named.setdefault(k, v)
    head = _head(r.identity, r.name)
    if head is None:
        return None
    rssi = r.rssi_dbm
    rssi_json = _dumps(rssi)
    if rssi_json == b"null" and rssi is not None:
        return None
    ts = iso_utc(r.timestamp)
    last = _timestamp[0]
    if last[0] is not ts:
        last = _timestamp[0] = (ts, b',"timestamp":' + _dumps(ts))
    key = r.dedup_key
    if key is None:
        key_json = b""
    elif type(key) is str:
        key_json = b',"dedup_key":' + _dumps(key)
    else:
        return None
    receivers = b',"receivers":' + _dumps(r.receivers) if r.receivers else b""
    if named:
        named_json = _dumps(named)
        if b"null" in named_json and named_json.count(b"null") != list(named.values()).count(None):
            return None
        named_json = b"," + named_json[1:-1]
    else:
        named_json = b""
    alarms = r.alarms
    if alarms is None:
        alarms_json = b""
    else:
        alarms = alarms.copy() if type(alarms) is MappingProxyType else dict(alarms)
        alarms_json = b',"alarms":' + _dumps(alarms)
    none = r.no_value
    no_value = b',"no_value":' + _dumps(none) if none else b""
    records = r.records
    if records:
        ids = tuple(map(id, map(_header, records)))
        template = _RECORDS.get(ids)
        if template is None:
            template = _records_template(records, ids)
        vals = list(map(_value, records))
        values_json = _dumps(vals)
        if b"null" in values_json and values_json.count(b"null") != vals.count(None):
            return None
        written = values_json[1:-1].split(b",")
        if len(written) != len(vals):  # a value with a comma in it (text): one by one
            written = [_dumps(v) for v in vals]
        if template[1] is None:
            return None
        records_json = template[1] % tuple(written)
    else:
        records_json = b',"records":[]'
    warnings = b',"warnings":' + _dumps(r.warnings) if r.warnings else b""
    if b"null" in receivers or b"null" in alarms_json or b"null" in no_value + warnings:
        return None
    return b"".join((head, b',"rssi_dbm":', rssi_json, last[1], key_json, receivers, named_json,
                     alarms_json, no_value, records_json, warnings, b"}"))  # fmt: skip
