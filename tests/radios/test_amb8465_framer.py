"""AMB8465 command mode (Amber's command frames): framer, command bytes, telegram conversion."""

from __future__ import annotations

import pytest

from gatewayd.radios import amb8465
from gatewayd.radios.amb8465 import AmberFramer, AmberMessage
from gatewayd.radios.base import ListenMode
from tests.radios.streams import K1, K2, chunkings, feed_all, read_hex

RECORDED = read_hex("amb8465_k1.hex")


def _telegrams(msgs: list[AmberMessage]) -> list[tuple[bytes, float | None] | None]:
    return [amb8465.telegram(m, rssi_appended=True) for m in msgs]


def test_recorded_stream_in_every_chunking() -> None:
    for chunks in chunkings(RECORDED):
        msgs, framer = feed_all(AmberFramer, chunks)
        # AMB8465 RSSI: 0xB4 -> (int8)-76 / 2 - 74 = -112 dBm
        assert _telegrams(msgs) == [(K1, -112.0)]
        assert framer.counters["checksum_errors"] == 0


def test_command_bytes_match_the_protocol_notes() -> None:
    assert amb8465.get_config_request() == bytes.fromhex("FF0A020080 77")
    assert amb8465.set_mode_request(ListenMode.C1) == bytes.fromhex("FF04010EF4")
    assert amb8465.set_mode_request(ListenMode.C1_T1) == bytes.fromhex("FF040109F3")
    assert amb8465.set_request(amb8465.RSSI_ENABLE, 1) == bytes.fromhex("FF09034501 01B0")


def test_bad_checksum_counted_next_frame_survives() -> None:
    bad = bytearray(RECORDED)
    bad[-3] ^= 0x10  # the checksum byte 9D (the stream ends 9D 00 00)
    good = AmberMessage(amb8465.Cmd.DATA_IND, K2[1:] + b"\x10").to_bytes()
    msgs, framer = feed_all(AmberFramer, [bytes(bad), good])
    assert _telegrams(msgs) == [(K2, 8 - 74.0)]
    assert framer.counters["checksum_errors"] == 1


def test_lying_length_for_a_reply_is_rejected() -> None:
    # A SET_MODE confirmation cannot carry 0xF0 bytes; the framer must not wait for them.
    liar = bytes([0xFF, 0x84, 0xF0])
    msgs, framer = feed_all(AmberFramer, [liar + RECORDED])
    assert _telegrams(msgs) == [(K1, -112.0)]
    assert framer.counters["bad_headers"] >= 1


def test_config_reply_parse() -> None:
    # The AMB8465 answers a 128-byte read with 120 bytes: FF 8A 7A 00 78 + 0x78 bytes + CS.
    memory = bytes(0x78)
    reply = AmberMessage(0x8A, bytes([0x00, 0x78]) + memory).to_bytes()
    assert reply[:5] == bytes.fromhex("FF8A7A0078") and len(reply) == 0x7E
    (msg,) = AmberFramer().feed(reply)
    assert amb8465.parse_config(msg.payload) == memory
    with pytest.raises(ValueError, match="malformed"):
        amb8465.parse_config(b"\x00\x05\x01")


@pytest.mark.parametrize(
    ("raw", "dbm"), [(0xB4, -112.0), (0x00, -74.0), (0x7F, -10.5), (0x80, -138.0)]
)
def test_rssi(raw: int, dbm: float) -> None:
    assert amb8465.rssi_dbm(raw) == dbm
