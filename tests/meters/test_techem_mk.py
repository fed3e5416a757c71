"""Techem MK Radio 3 / 3a: packed dates, 1/10 m3 volumes, mkradio3a's monthly history."""

from __future__ import annotations

import dataclasses

from gatewayd.meters import build_reading, driver_for
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.telegram import Telegram
from tests.meters.builders import address, telegram

# wmbusmeters' published example for mkradio3 (not in the shared corpus)
MK3_EXAMPLE = (
    "2F446850313233347462A2069F255900B02931000000030606090603060907060605050905050505"
    "0407040605070500"
)


def mfct_frame(version: int, dtype: int, data: bytes) -> Telegram:
    t = telegram([], addr=address("TCH", "62560642", version, dtype))
    return dataclasses.replace(t, ci=0xA2, manufacturer_data=data)


def date_word(year: int, month: int, day: int) -> bytes:
    return ((year - 2000) << 9 | month << 5 | day).to_bytes(2, "little")


def test_mkradio3_published_example() -> None:
    r = build_reading(Decoder().decode(bytes.fromhex(MK3_EXAMPLE))).to_dict()
    assert r["meter"] == "mkradio3"
    assert (r["total_m3"], r["target_m3"]) == (13.8, 8.9)
    assert (r["current_date"], r["prev_date"]) == ("2019-04-27", "2018-12-31")


def test_mkradio3_year_rolls_over_when_the_current_date_is_not_after_the_previous() -> None:
    prev = date_word(2020, 6, 30)
    for curr_md, want in (((7, 1), "2020-07-01"), ((6, 30), "2021-06-30"), ((2, 3), "2021-02-03")):
        curr = ((curr_md[0] << 9) | (curr_md[1] << 4)).to_bytes(2, "little")
        data = b"\x06" + prev + (120).to_bytes(2, "little") + curr + (5).to_bytes(2, "little")
        f = driver_for(address("TCH", "11111111", 0x74, 0x62)).fields(mfct_frame(0x74, 0x62, data))
        assert f["current_date"] == want
        assert (f["total_m3"], f["target_m3"], f["prev_date"]) == (12.5, 12, "2020-06-30")


def history(pairs: list[tuple[int, int]]) -> bytes:
    return b"".join(b"\x00" + bytes(p) for p in pairs) + b"\x00"


def test_mkradio3a_late_and_early_in_the_month() -> None:
    pairs = [(10 + k, 20 + k) for k in range(12)]  # (low, high) for months back from now
    late = b"\x0c\x00" + date_word(2024, 3, 20) + (12345).to_bytes(3, "little") + history(pairs)
    d = driver_for(address("TCH", "11111111", 0x50, 0x72))
    f = d.fields(mfct_frame(0x50, 0x72, late))
    assert (f["total_m3"], f["target_date"], f["target_m3"]) == (1234.5, "2024-03-20", 3)
    assert (f["last_mar_m3"], f["last_feb_m3"], f["last_apr_m3"]) == (3, 3.2, 5.2)
    early = late[:2] + date_word(2024, 3, 10) + late[4:]
    f = d.fields(mfct_frame(0x50, 0x72, early))
    # early: this month's start is low[0]; month k back is high[k-1] + low[k]
    assert (f["target_m3"], f["last_mar_m3"], f["last_feb_m3"]) == (1, 1, 3.1)
    assert f["last_apr_m3"] == (30 + 21) / 10


def test_short_or_other_ci_gives_nothing() -> None:
    d = driver_for(address("TCH", "11111111", 0x50, 0x72))
    assert d.fields(mfct_frame(0x50, 0x72, b"\x0c\x00\x01")) == {}
    other = dataclasses.replace(mfct_frame(0x50, 0x72, bytes(60)), ci=0x7A)
    assert d.fields(other) == {}
