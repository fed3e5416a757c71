"""CUL / culfw lines: frame A and B with CRCs, LQI/RSSI, text replies (culfw's output)."""

from __future__ import annotations

import pytest

from gatewayd.radios import cul
from gatewayd.radios.base import ListenMode
from gatewayd.radios.cul import CulFramer, CulTelegram, CulText
from gatewayd.wmbus.errors import FrameError
from gatewayd.wmbus.link import FrameFormat
from tests.radios.streams import K1, chunkings, feed_all, read_raw

RECORDED = read_raw("cul_k1.txt")
# culfw: LQI 0x2A, RSSI 0xC4 -> (int8)-60 / 2 - 74 = -104 dBm
EXPECTED = [
    CulTelegram(K1, FrameFormat.B, 0x2A, 0xC4),
    CulTelegram(K1, FrameFormat.A, 0x2A, 0xC4),
]


def test_recorded_stream_in_every_chunking() -> None:
    for chunks in chunkings(RECORDED):
        items, framer = feed_all(CulFramer, chunks)
        assert [i for i in items if isinstance(i, CulTelegram)] == EXPECTED
        texts = [i.line for i in items if isinstance(i, CulText)]
        assert "V 1.67 nanoCUL868" in texts and "CMODE" in texts
        assert framer.counters["bad_telegrams"] == 0
    assert cul.rssi_dbm(0xC4) == -104.0


def test_frame_without_lqi_rssi() -> None:
    (t,) = CulFramer().feed(
        b"bY2C442D2C998734761B168D2091D37CAC21E1D68CDAFFCD3DC452BD802913FF7B1706CA9E355D6C2701CC2427BD\r\n"
    )
    assert t == CulTelegram(K1, FrameFormat.B, None, None)


@pytest.mark.parametrize(
    ("line", "match"),
    [
        (
            "bY2C442D2C998734761B168D2091D37CAC21E1D68CDAFFCD3DC452BD802913FF7B1706CA9E355D6C2701CC2427BE2AC4",
            "CRC",
        ),
        ("bY2C442D2C99873476", "needs"),  # truncated (nanoCUL's long-telegram bug)
        ("bY2C442D2C9987347", "odd"),
        ("bZZ", "hex"),
    ],
)
def test_broken_lines_raise_and_are_counted(line: str, match: str) -> None:
    with pytest.raises(FrameError, match=match):
        cul.parse_line(line)
    framer = CulFramer()
    assert framer.feed(line.encode() + b"\r\n") == []
    assert framer.counters["bad_telegrams"] == 1


def test_overlong_garbage_line_is_dropped_then_frames_resume() -> None:
    junk = b"x" * 5000
    items, framer = feed_all(CulFramer, [junk, junk, b"\r\n", RECORDED])
    assert [i for i in items if isinstance(i, CulTelegram)] == EXPECTED
    assert framer.counters["overlong_lines"] == 1


def test_mode_commands() -> None:
    assert cul.command("brc") == b"brc\r\n"
    assert cul.MODE_COMMANDS[ListenMode.T1] == ("brt", "TMODE")


def test_binary_noise_before_a_telegram_line_is_cut_off() -> None:
    items, framer = feed_all(CulFramer, [b"\x00\xa5\xff" + RECORDED[RECORDED.index(b"bY") :]])
    assert [i for i in items if isinstance(i, CulTelegram)] == EXPECTED
    assert framer.counters["noisy_lines"] == 1
