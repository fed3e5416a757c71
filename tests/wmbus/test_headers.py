"""The one header walker: typed headers with their byte spans, and the users built on it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.dedup import dedup_key
from gatewayd.wmbus.encode import oms_mode5
from gatewayd.wmbus.errors import FrameError, TelegramError, WrongKeyError
from gatewayd.wmbus.explain import explain
from gatewayd.wmbus.headers import walk_headers
from gatewayd.wmbus.link import FrameFormat
from tests.wmbus.test_decode import K1, KAM_KEY, KEYS, O2, O2_KEY, OWN_KEY, SAMPLES


def test_ell_ii_span_covers_ci_cc_acc_sn_and_the_payload_crc() -> None:
    h = walk_headers(K1, ell_key=KAM_KEY)
    # CI(1) CC(1) ACC(1) SN(4) PayloadCRC(2) from offset 10, then the TPL CI 0x78 alone
    assert h.ell is not None and h.ell_span == (10, 19)
    assert h.afl is None and h.afl_span is None
    assert h.tpl is not None and h.tpl.ci == 0x78 and h.tpl_span == (19, 20)
    assert h.info is not None and h.info.apl == "full" and h.body_at == 20


def test_sealed_ell_stops_the_walk_without_a_key() -> None:
    h = walk_headers(K1, open_ell_payload=False)
    assert h.sealed and h.tpl is None and h.body_at == 19
    with pytest.raises(TelegramError):
        walk_headers(K1)  # opening it needs the key


def test_long_tpl_header_span_and_identity() -> None:
    h = walk_headers(O2, open_ell_payload=False)
    # ELL I: CI CC ACC; then CI 0x72, the 8-byte long address, ACC STS CFG(2)
    assert h.ell_span == (10, 13) and h.tpl_span == (13, 26)
    assert h.link.address.id == "11223344" and h.address.id == "55667788"


def test_lenient_walk_stops_at_a_truncated_header() -> None:
    cut = bytes([20]) + O2[1:21]
    with pytest.raises(FrameError):
        walk_headers(cut, open_ell_payload=False)
    h = walk_headers(cut, open_ell_payload=False, lenient=True)
    assert not h.complete and h.tpl is None and h.body_at == 13


def test_the_tpl_identity_names_the_key_not_the_radio_converter() -> None:
    wrong_for_converter = bytes(16)
    keys = {"11223344": wrong_for_converter, "55667788": O2_KEY}
    t = Decoder(keys=keys).decode(O2)
    assert t.id == "55667788" and t.records


def test_a_key_of_the_wrong_length_is_a_wrong_key_naming_the_meter() -> None:
    with pytest.raises(WrongKeyError) as err:
        Decoder().decode(K1, key=KAM_KEY[:15])
    assert err.value.meter_id == "76348799" and "15 bytes" in str(err.value)


def test_dedup_key_ignores_the_hop_and_repeated_bits_only() -> None:
    repeated = bytearray(K1)
    repeated[11] |= 0x12  # ELL CC: H and R
    assert dedup_key(bytes(repeated)) == dedup_key(K1)
    other = bytearray(K1)
    other[12] ^= 1  # ELL ACC
    assert dedup_key(bytes(other)) != dedup_key(K1)


def test_explain_names_each_layer_from_the_ci_table() -> None:
    text = explain(K1, FrameFormat.CLEAN, Decoder(keys=KEYS))
    assert "CI = 0x8D ELL II" in text and "CI = 0x78 TPL none, full APL" in text


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(SAMPLES),
    st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255)), min_size=1, max_size=4),
    st.integers(1, 300),
)
def test_fuzz_dedup_never_raises_and_explain_reports_errors(
    base: bytes, edits: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(base)
    for pos, val in edits:
        data[pos % len(data)] = val
    data = data[:cut]
    for frame in (bytes(data), bytes([len(data) - 1]) + bytes(data[1:])):
        assert isinstance(dedup_key(frame), bytes)
        assert isinstance(explain(frame, FrameFormat.CLEAN, Decoder(keys=KEYS)), str)


def _mode5_two_blocks() -> bytes:
    recs = [("0413", (4242).to_bytes(4, "little")), ("0406", (77).to_bytes(4, "little")),
            ("0C13", bytes.fromhex("11223344")), ("02FD17", b"\x00\x00")]  # fmt: skip
    return oms_mode5(manufacturer="ELS", meter_id="12345678", version=1, device_type=7,
                     key=OWN_KEY, records=recs)  # fmt: skip


def test_mode5_with_fewer_bytes_than_announced_decrypts_the_blocks_that_came() -> None:
    frame = bytearray(_mode5_two_blocks())
    assert len(frame) - 15 == 32 and frame[13] >> 4 == 2  # two blocks after the short TPL
    frame[13] = (3 << 4) | (frame[13] & 0x0F)  # the CFG now announces three
    t = Decoder().decode(bytes(frame), key=OWN_KEY)
    by_header = {r.header.difvif.hex().upper(): r.value for r in t.records}
    assert by_header["0413"] == 4.242 and by_header["0406"] == 77
    assert any("announces 3 encrypted blocks" in w for w in t.warnings)


def test_mode5_short_last_block_keeps_the_whole_blocks() -> None:
    frame = bytearray(_mode5_two_blocks()[:-6])  # the second block arrives 10 bytes long
    frame[0] = len(frame) - 1
    t = Decoder().decode(bytes(frame), key=OWN_KEY)
    # the first block holds 2F2F, 0413 and 0406 whole; the rest is not readable
    assert [r.header.difvif.hex().upper() for r in t.records][:2] == ["0413", "0406"]
    assert t.warnings
    with pytest.raises(FrameError):  # less than one whole block: nothing to decrypt
        cut = bytearray(_mode5_two_blocks()[:-20])
        cut[0] = len(cut) - 1
        Decoder().decode(bytes(cut), key=OWN_KEY)


def test_explain_a_compact_ci_in_a_vendor_security_mode() -> None:
    """CI 0x7B (short TPL, compact APL) with security mode 16: the bytes are the vendor's own
    layout (no format signature), and explain says so instead of failing on the signature."""
    body = bytes.fromhex("442D2C785634121B167B01000010AABBCCDDEEFF0011")
    frame = bytes([len(body)]) + body
    t = Decoder().decode(frame)
    assert t.format_signature is None and t.manufacturer_data == bytes.fromhex("AABBCCDDEEFF0011")
    text = explain(frame, FrameFormat.CLEAN, Decoder())
    assert "TPL CFG: security" in text and "signature" not in text
