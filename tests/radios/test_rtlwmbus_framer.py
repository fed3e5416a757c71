"""rtl_wmbus lines: accepted modes, CRC flags, L re-normalisation."""

from __future__ import annotations

from gatewayd.radios.base import LinkMode
from gatewayd.radios.rtlwmbus import RtlTelegram, RtlWmbusFramer
from tests.radios.streams import K1, chunkings, feed_all, read_raw

RECORDED = read_raw("rtlwmbus_k1.txt")


def test_recorded_stream_in_every_chunking() -> None:
    for chunks in chunkings(RECORDED):
        got, framer = feed_all(RtlWmbusFramer, chunks)
        assert got == [RtlTelegram(LinkMode.C1, K1)] * 3
        assert framer.counters["crc_failed"] == 1
        assert framer.counters["l_renormalised"] == 1


def test_t1_needs_both_checks_and_s1_is_accepted() -> None:
    f = RtlWmbusFramer()
    hex_k1 = "0x" + K1.hex().upper()
    assert f.parse(f"T1;1;0;ts;1;2;76348799;{hex_k1}") is None
    assert f.parse(f"T1;1;1;ts;1;2;76348799;{hex_k1}") == RtlTelegram(LinkMode.T1, K1)
    assert f.parse(f"S1;1;;ts;1;2;76348799;{hex_k1}") == RtlTelegram(LinkMode.S1, K1)
    assert f.parse("Found Rafael Micro R820T tuner") is None
    assert f.parse("C1;1;1;ts;1;2;76348799;0x2A44") is None
    assert f.parse("C1;1;1;ts;1;2;76348799;0xZZ") is None
    assert (f.counters["crc_failed"], f.counters["other_lines"]) == (1, 1)
    assert (f.counters["short_telegrams"], f.counters["bad_hex"]) == (1, 1)


def test_last_line_without_newline_is_kept_at_end_of_input() -> None:
    f = RtlWmbusFramer()
    line = b"C1;1;1;ts;1;2;76348799;0x" + K1.hex().encode()
    assert f.feed(line) == []
    assert f.flush() == [RtlTelegram(LinkMode.C1, K1)]
