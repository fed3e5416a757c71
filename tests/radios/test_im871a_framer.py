"""iM871A HCI: framer, command bytes and telegram conversion against IMST's HCI frame layout."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayd.radios import im871a
from gatewayd.radios.base import ListenMode
from gatewayd.radios.im871a import HciMessage, ImstFramer
from tests.radios.streams import K1, K2, chunkings, feed_all, long_frame, read_hex

RECORDED = read_hex("im871a_k1.hex")


def test_recorded_stream_yields_k1_twice_with_rssi() -> None:
    msgs, framer = feed_all(ImstFramer, [RECORDED])
    got = [im871a.telegram(m) for m in msgs]
    # iM871A RSSI: raw 0xB4 = 180 -> 0.5*180 - 122.5 = -32.5 dBm
    assert got == [(K1, -32.5), (K1, -32.5)]
    assert [m.crc for m in msgs] == [True, False]
    assert framer.counters["crc_errors"] == 0
    assert framer.counters["bad_headers"] == 1  # the stray A5 0F
    # every byte outside the two frames is accounted for (the rejected A5 as a bad header)
    skipped = framer.counters["garbage_bytes"] + framer.counters["bad_headers"]
    assert skipped == len(RECORDED) - (4 + 42 + 1 + 2) - (4 + 42 + 1)


def test_recorded_stream_in_every_chunking() -> None:
    for chunks in chunkings(RECORDED):
        msgs, _ = feed_all(ImstFramer, chunks)
        assert [im871a.telegram(m) for m in msgs] == [(K1, -32.5), (K1, -32.5)], len(chunks)


def test_corrupt_crc_is_counted_and_the_next_frame_survives() -> None:
    good = HciMessage(2, 3, K2[1:], rssi_raw=0x80, crc=True).to_bytes()
    bad = bytearray(RECORDED)
    bad[bad.index(0x8D)] ^= 0x01  # flip one bit inside the first (CRC-protected) telegram
    msgs, framer = feed_all(ImstFramer, [bytes(bad), good])
    frames = [im871a.telegram(m) for m in msgs]
    assert framer.counters["crc_errors"] == 1
    # the CRC-less copy of K1 and the K2 after it still come through
    assert [f[0] for f in frames if f] == [K1, K2]


def test_lying_length_costs_no_good_frame() -> None:
    # A plausible header announcing 255 bytes with CRC, but the real frames start 5 bytes later.
    liar = bytes([0xA5, 0x82, 0x03, 0xFF, 0x44])
    good = HciMessage(2, 3, K1[1:], rssi_raw=0xB4, crc=True).to_bytes()
    msgs, framer = feed_all(ImstFramer, [liar + good * 6])
    assert [im871a.telegram(m) for m in msgs] == [(K1, -32.5)] * 6
    assert framer.counters["crc_errors"] == 1
    # Live, frame by frame: the CRC-checked frame inside the liar's span wins as soon as it is
    # complete, without waiting for the 262 bytes the liar announced.
    framer = ImstFramer()
    assert framer.feed(liar) == []
    assert [im871a.telegram(m) for m in framer.feed(good)] == [(K1, -32.5)]
    assert framer.counters["overlapped_candidates"] == 1


def test_command_bytes_match_the_protocol_notes() -> None:
    assert im871a.ping_request() == bytes.fromhex("A5010100")
    assert im871a.device_info_request() == bytes.fromhex("A5010F00")
    assert im871a.set_config_request(ListenMode.C1) == bytes.fromhex("A50103060002073001 00")
    assert im871a.set_config_request(ListenMode.T1)[6] == 3
    assert im871a.set_config_request(ListenMode.C1_T1)[6] == 10
    # GetDeviceInfo with CRC: A5 81 0F 00 34 13
    assert HciMessage(1, 0x0F, crc=True).to_bytes() == bytes.fromhex("A5810F003413")


@pytest.mark.parametrize(("raw", "dbm"), [(0xB4, -32.5), (0, -122.5), (229, -8.0), (230, 0.0)])
def test_rssi(raw: int, dbm: float) -> None:
    assert im871a.rssi_dbm(raw) == dbm


def test_timestamp_and_long_payload_round_trip() -> None:
    frame = long_frame(200)
    msg = HciMessage(2, 3, frame[1:], timestamp=0x01020304, rssi_raw=7, crc=True)
    (got,) = ImstFramer().feed(msg.to_bytes())
    assert got == msg
    assert im871a.telegram(got) == (frame, 0.5 * 7 - 122.5)


def test_device_info() -> None:
    info = im871a.DeviceInfo.parse(bytes.fromhex("3300140178563412"))
    assert (info.module_name, info.firmware, info.uid) == ("iM871A", 0x14, 0x12345678)
    with pytest.raises(ValueError, match="8 bytes"):
        im871a.DeviceInfo.parse(b"\x33")


@given(st.binary(max_size=64), st.lists(st.integers(1, 50), min_size=1, max_size=40))
def test_any_noise_then_any_chunking_still_finds_the_frame(noise: bytes, sizes: list[int]) -> None:
    # Noise without A5 cannot start a frame, so the K1 after it must come out exactly once.
    noise = noise.replace(b"\xa5", b"")
    data = noise + HciMessage(2, 3, K1[1:], rssi_raw=0xB4, crc=True).to_bytes()
    chunks, pos = [], 0
    for n in sizes * (len(data) // sum(sizes) + 1):
        chunks.append(data[pos : pos + n])
        pos += n
    msgs, framer = feed_all(ImstFramer, chunks)
    assert [im871a.telegram(m) for m in msgs] == [(K1, -32.5)]
    assert framer.counters["garbage_bytes"] == len(noise)
