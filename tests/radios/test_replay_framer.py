"""Replay lines: hex, hex;rssi, JSON (with on-air CRCs), comments, broken lines."""

from __future__ import annotations

import json

import pytest

from gatewayd.radios.replay import ReplayFramer, ReplayTelegram, parse_line
from gatewayd.wmbus.errors import FrameError
from gatewayd.wmbus.link import FrameFormat
from tests.radios.streams import K1, O1

# O1 (OMS Vol.2 Annex N.2.1) with its frame-A DLL CRCs
O1_FRAME_A = (
    "2E44931578563412330333637A2A0020255923C95AAA26D1B2E7493BC2AD013EC4A6F6D3529B520EDFF0EA"
    "6DEFC955B29D6D69EBF3EC8A"
)


def test_forms() -> None:
    text = "\n".join(
        [
            "# a comment",
            "",
            K1.hex(),
            "2A442D2C99_8734761B16_8D2091D37CAC21E1D68CDAFFCD3DC452BD802913FF7B1706CA9E355D6C2701CC24;-71.5",
            json.dumps({"hex": O1_FRAME_A, "rssi_dbm": -80, "frame_format": "A"}),
            "not hex",
            K1.hex()[:-2],  # L no longer matches
        ]
    )
    f = ReplayFramer()
    got = f.feed(text.encode()) + f.flush()
    assert got == [
        ReplayTelegram(K1, None, FrameFormat.CLEAN),
        ReplayTelegram(K1, -71.5, FrameFormat.CLEAN),
        ReplayTelegram(O1, -80.0, FrameFormat.A),
    ]
    assert f.counters["bad_lines"] == 2


@pytest.mark.parametrize("line", ['{"hex": 5', '{"nohex": 1}', K1.hex() + ";loud", "2A44"])
def test_broken(line: str) -> None:
    with pytest.raises(FrameError):
        parse_line(line)


@pytest.mark.parametrize(
    "line",
    [
        K1.hex() + ";inf",
        K1.hex() + ";-inf",
        K1.hex() + ";nan",
        K1.hex() + ";NaN",
        '{"hex": "' + K1.hex() + '", "rssi_dbm": Infinity}',
        '{"hex": "' + K1.hex() + '", "rssi_dbm": NaN}',
    ],
)
def test_rssi_that_is_not_finite_is_dropped_and_counted(line: str) -> None:
    f = ReplayFramer()
    (got,) = f.feed(line.encode() + b"\n")
    assert (got.frame, got.rssi_dbm) == (K1, None)  # the telegram is kept, the RSSI is not
    assert (f.counters["telegrams"], f.counters["bad_rssi"]) == (1, 1)
    # what reaches a sink must serialise as strict JSON
    json.dumps({"rssi_dbm": got.rssi_dbm}, allow_nan=False)
