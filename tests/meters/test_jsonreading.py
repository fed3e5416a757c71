"""A reading's JSON bytes (Reading.json_bytes, written in pieces by jsonreading.py) are the
documented JSON object of docs/mqtt.md, byte for byte, for every telegram of every vector.

The expected bytes are computed here, independently of model.py and jsonreading.py: the
documented keys in their documented order from the reading's plain attributes, written by the
standard library's json.dumps (compact, UTF-8, NaN refused). They are also compared with the
dict path (to_dict, then to_json: what json_bytes gave before it was written in pieces).
"""

from __future__ import annotations

import json
import math
import time
from decimal import Decimal
from functools import cache
from types import MappingProxyType
from typing import Any

import pytest

from gatewayd.meters import MeterState, build_reading
from gatewayd.meters.jsonreading import dict_json
from gatewayd.meters.model import Identity, Reading
from gatewayd.meters.novalue import NO_VALUE
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import TelegramError
from gatewayd.wmbus.link import FrameFormat
from gatewayd.wmbus.records import Record, RecordHeader
from tests.conftest import OWN_VECTORS, load_vectors, shared_vector_files

VECTORS = load_vectors(sorted(OWN_VECTORS.rglob("*.jsonl")) + shared_vector_files())
WHEN = 1_764_652_830.25  # 2025-12-02T05:20:30Z


def documented(r: Reading) -> dict[str, Any]:
    """docs/mqtt.md's object, key by key, from the reading's attributes."""
    i = r.identity
    out: dict[str, Any] = {"id": i.id}
    if r.name is not None:
        out["name"] = r.name
    out.update(manufacturer=i.manufacturer, version=i.version, device_type=i.media)
    out.update(meter=i.meter, media=i.media, rssi_dbm=r.rssi_dbm)
    out["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r.timestamp))
    if r.dedup_key is not None:
        out["dedup_key"] = r.dedup_key
    if r.receivers:
        out["receivers"] = list(r.receivers)
    for k, v in r.values.items():
        out[k] = v
    for k, v in r.static:
        if k not in out:
            out[k] = v
    if r.alarms is not None:
        out["alarms"] = dict(r.alarms.items())
    codes = NO_VALUE.get(i.meter, {})
    none = [
        k for k, v in r.values.items() if k in codes and v == codes[k] and not isinstance(v, bool)
    ]
    if none:
        out["no_value"] = none
    out["records"] = [
        {
            "quantity": rec.header.quantity,
            "value": rec.value,
            "unit": rec.header.unit,
            "storage": rec.header.storage,
            "tariff": rec.header.tariff,
            "subunit": rec.header.subunit,
            "function": rec.header.function,
            "difvif": rec.header.difvif.hex().upper(),
        }
        for rec in r.records
    ]
    if r.warnings:
        out["warnings"] = list(r.warnings)
    return out


def stdlib(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def expected_bytes(r: Reading) -> bytes:
    """The documented object as JSON. The one difference between the standard library's
    numbers and orjson's: below 1e-4 the standard library writes an exponent (1.5e-05, 3e-06),
    orjson only below 1e-5 and without its zero (0.000015, 3e-6). Such a number goes in as a
    placeholder string, then replaced by that text."""
    floats: list[str] = []

    def mark(o: Any) -> Any:
        if isinstance(o, float) and "e-" in repr(o):
            mantissa, exp = repr(o).split("e")
            text = f"{Decimal(repr(o)):f}" if int(exp) == -5 else f"{mantissa}e{int(exp)}"
            floats.append(text)
            return f"\x00{len(floats) - 1}\x00"
        if isinstance(o, dict):
            return {k: mark(v) for k, v in o.items()}
        if isinstance(o, list):
            return [mark(v) for v in o]
        return o

    out = stdlib(mark(documented(r)))
    for n, text in enumerate(floats):
        out = out.replace(stdlib(f"\x00{n}\x00"), text.encode())
    return out


@cache
def readings() -> list[tuple[str, Reading]]:
    """Every reading the vectors give, each telegram in turn (one decoder, one state each)."""
    decoder = Decoder()
    out = []
    for v in VECTORS:
        state = MeterState()
        key = bytes.fromhex(v["key"]) if v.get("key") else None
        for n, t in enumerate(v["telegrams"]):
            try:
                tg = decoder.decode(bytes.fromhex(t), FrameFormat.CLEAN, key)
                r = build_reading(tg, driver=v.get("driver", "auto"), state=state,
                                  received_at=WHEN + n, rssi_dbm=-71.5)  # fmt: skip
            except TelegramError:
                continue
            out.append((f"{v['_file']}:{v['name']}#{n}", r))
    return out


def variants(r: Reading) -> list[Reading]:
    """The reading as the daemon makes it, and with what a configuration or radio adds."""
    from dataclasses import replace

    return [
        r,
        replace(r, rssi_dbm=None, name="kitchen", dedup_key=None),
        replace(
            r,
            static=(("address", "Main St 1 – Flat 2"), ("total_m3", 0), ("floor", 3)),
            receivers=("gw-a", "gw-b"),
            name='q"uote\\%s',
        ),
    ]


def test_the_vectors_give_many_readings() -> None:
    assert len(readings()) > 600
    assert sum(1 for _, r in readings() if r.alarms is not None) > 20
    assert sum(1 for _, r in readings() if r.no_value) > 0
    assert sum(1 for _, r in readings() if r.warnings) > 0
    assert sum(1 for _, r in readings() if not r.records) > 0


def test_every_vector_reading_is_its_documented_json_byte_for_byte() -> None:
    wrong = []
    for name, r in readings():
        for x in variants(r):
            got = x.json_bytes()
            if got != expected_bytes(x) or got != dict_json(x):
                wrong.append(name)
    assert not wrong, wrong[:10]


def _reading(values: dict[str, Any], records: tuple[Record, ...] = (), **kw: Any) -> Reading:
    ident = Identity("12345678", "KAM", 27, 0x16, "cold water", "kamwater")
    return Reading(ident, WHEN, -70.0, MappingProxyType(values), records=records, **kw)


def _record(value: Any, unit: str = "m3", quantity: str = "volume") -> Record:
    h = RecordHeader(b"\x04\x13", 4, 4, "instantaneous", 0, 0, 0, quantity, unit, 0.001,
                     "number", ())  # fmt: skip
    return Record(h, value, b"\x00\x00\x00\x00")


@pytest.mark.parametrize(
    "reading",
    [
        _reading({"total_m3": None, "note": "null", "t": "a,b"}, (_record(None), _record(1.5))),
        _reading({"text": "x"}, (_record("2026-01-01 10:00"), _record("a,b,c"), _record(None))),
        _reading({"pct": 5}, (_record(3, unit="%", quantity="100%s relative"),)),
        _reading({"records": 1, "x": 2}),  # a field named as a key of the reading's own
        _reading({"name": "field"}, name="configured"),
        _reading({"total_m3": 1}, static=(("name", "static"),)),
        _reading({"big": 2**70, "ü": "Grüße ☃"}, (_record(2**65),)),
        _reading({}, alarms=MappingProxyType({"leak": True, "dry": False})),
        _reading({"a": 1e-7, "b": 1e16, "c": -0.0, "d": 123456789.125}, (_record(1e-5),)),
        _reading({"a": True, "b": False, "c": ""}, warnings=("records from 3 not decoded",)),
    ],
)
def test_edge_cases_are_the_dict_paths_bytes(reading: Reading) -> None:
    got = reading.json_bytes()
    assert got == dict_json(reading)
    assert json.loads(got) == json.loads(stdlib(documented(reading)))


BAD = [math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize(
    "where",
    ["named", "named beside a None", "record", "record beside a None", "rssi", "static"],
)
def test_a_non_finite_number_is_refused(bad: float, where: str) -> None:
    named: dict[str, Any] = {"total_m3": 1.5}
    records: tuple[Record, ...] = (_record(2.5),)
    kw: dict[str, Any] = {}
    if where.startswith("named"):
        named["x"] = bad
    if where == "named beside a None":
        named["y"] = None
    if where.startswith("record"):
        records = (_record(bad), _record(None) if "None" in where else _record(1))
    if where == "static":
        kw["static"] = (("fixed", bad),)
    r = _reading(named, records, **kw)
    if where == "rssi":
        from dataclasses import replace

        r = replace(r, rssi_dbm=bad)
    with pytest.raises(ValueError):
        r.json_bytes()
    with pytest.raises(ValueError):
        stdlib(documented(r))
