"""Compact profiles expanded into one record per value (gatewayd/meters/profile.py). The
expected values are computed here by hand from the bytes put in, not taken from the code."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.meters.profile import expand
from gatewayd.wmbus.records import parse_records

BASE = "8B046E000100" + "82046C4132"  # 100 units and 2026-02-01, both at storage 8


def _values(apl_hex: str) -> dict[int, object]:
    recs = parse_records(bytes.fromhex(apl_hex)).records
    out: dict[int, object] = {}
    for r in expand(recs):
        out[r.header.storage * 10 + (r.header.vif_range == "date")] = r.value
    return out


def test_inverse_increments_are_rebuilt_back_from_the_base() -> None:
    # control 0x72: increments (01), monthly unit (11), 16-bit slots; 254: one month
    got = _values(BASE + "8D04EE13" + "08" + "72FE" + "0A00" + "0500" + "FFFF")
    assert got == {90: 90, 91: "2026-01-01", 100: 85, 101: "2025-12-01"}  # 100-10, 90-5


def test_inverse_absolute_bcd_skips_empty_slots() -> None:
    # control 0x3B: absolute (00), monthly, 6-digit BCD; an FFFFFF slot holds no value and
    # takes no storage number (as wmbusmeters numbers them)
    got = _values(BASE + "8D04EE13" + "0B" + "3BFE" + "270600" + "FFFFFF" + "070000")
    assert got == {90: 627, 91: "2026-01-01", 100: 7, 101: "2025-12-01"}


def test_forward_profile_reads_from_the_last_slot_and_dates_step_forward() -> None:
    base = "83046E000000" + "82046C7F2A"  # 0 units at storage 8, 2019-10-31
    got = _values(base + "8D04EE1F" + "08" + "72FE" + "0000" + "0300" + "1600")
    assert got[90] == 22 and got[91] == "2019-11-30"
    assert got[100] == 3 and got[101] == "2019-12-31"
    assert got[110] == 0 and got[111] == "2020-01-31"


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=2, max_size=40), st.sampled_from(("13", "1E", "1F")))
def test_any_profile_payload_expands_without_raising(payload: bytes, vife: str) -> None:
    apl = bytes.fromhex(BASE + "8D04EE" + vife) + bytes([len(payload)]) + payload
    recs = parse_records(apl, strict=False).records
    for r in expand(recs):
        assert r.header.storage > 8
