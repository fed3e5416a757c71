"""A kept record layout reads an application layer exactly as parse_records(strict=False)
does: for every vector telegram's application layer, read again, and with its bytes changed
one at a time (data, headers, fillers, the special DIF: another layout, an error, the same)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from gatewayd.wmbus import layouts as layouts_module
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import FrameError, TelegramError
from gatewayd.wmbus.layouts import LayoutCache
from gatewayd.wmbus.link import FrameFormat
from gatewayd.wmbus.records import HeaderCache, Records, parse_records
from tests.conftest import OWN_VECTORS, load_vectors, shared_vector_files

VECTORS = load_vectors(sorted(OWN_VECTORS.rglob("*.jsonl")) + shared_vector_files())


def apls() -> list[tuple[str, bytes]]:
    """Each decodable vector telegram's application layer, decrypted."""
    decoder = Decoder()
    out = []
    for v in VECTORS:
        key = bytes.fromhex(v["key"]) if v.get("key") else None
        for t in v["telegrams"]:
            try:
                tg = decoder.decode(bytes.fromhex(t), FrameFormat.CLEAN, key)
            except TelegramError:
                continue
            if not tg.compact and tg.headers is not None and tg.tpl is not None:
                out.append((tg.address.id, tg.apl))
    return out


def scanned(apl: bytes, meter_id: str) -> Records | tuple[str, str]:
    try:
        return parse_records(apl, meter_id, strict=False, cache=HeaderCache())
    except FrameError as exc:  # parse_records(strict=False) raises for nothing: never here
        return ("raised", str(exc))


def test_a_kept_layout_reads_every_vector_and_its_mutations_as_a_scan_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scans = [0]

    def counted(*args: Any, **kw: Any) -> Records:
        scans[0] += 1
        return parse_records(*args, **kw)

    monkeypatch.setattr(layouts_module, "parse_records", counted)  # the real scan, counted
    rnd = random.Random(17)
    layouts, cache = LayoutCache(), HeaderCache()
    kept = replays = 0
    cases = apls()
    assert len(cases) > 300
    for meter_id, apl in cases:
        assert layouts.parse(apl, meter_id, cache) == scanned(apl, meter_id)
        kept += (meter_id, len(apl)) in layouts._layouts
        mutants = [apl]  # the same again: read by its layout
        for _ in range(12):
            if apl:
                b = bytearray(apl)
                b[rnd.randrange(len(b))] = rnd.choice((0x2F, 0x0F, 0x1F, 0x04, rnd.randrange(256)))
                mutants.append(bytes(b))
        for m in mutants:
            before = scans[0]
            assert layouts.parse(m, meter_id, cache) == scanned(m, meter_id), (meter_id, m.hex())
            replays += scans[0] == before
    assert kept > 250 and replays > 1000, (kept, replays)


def test_a_layout_is_kept_per_meter_and_length_and_bounded() -> None:
    layouts, cache = LayoutCache(max_entries=2), HeaderCache()
    apl = bytes.fromhex("2F2F 0413 01000000 0F AABB")
    first = layouts.parse(apl, "a", cache)
    assert first.manufacturer_data == bytes([0xAA, 0xBB]) and first.records[0].value == 0.001
    again = layouts.parse(bytes.fromhex("2F2F 0413 02000000 1F CCDD"), "a", cache)
    assert again.records[0].value == 0.002 and again.more_follows
    assert again.manufacturer_data == bytes([0xCC, 0xDD])
    third = layouts.parse(bytes.fromhex("2F2F 0413 03000000 1F EEFF"), "a", cache)
    assert third.records[0].value == 0.003 and third.manufacturer_data == bytes([0xEE, 0xFF])
    layouts.parse(apl, "b", cache)
    layouts.parse(apl + b"\x00", "b", cache)
    assert len(layouts) <= 2
    lvar = bytes.fromhex("0D78 03414243")  # variable length: never kept
    assert LayoutCache().parse(lvar, "c", cache) == parse_records(lvar, "c", strict=False)
    assert layouts.parse(b"", "d", cache) == Records(())
