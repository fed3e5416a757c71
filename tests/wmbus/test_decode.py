"""The decoder end to end on bytes: the worked example telegrams and our own encoder."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.wmbus.compact import CompactFormats
from gatewayd.wmbus.crc import crc16_en13757
from gatewayd.wmbus.decode import Decoder, describe
from gatewayd.wmbus.encode import kamstrup_c1, oms_mode5, oms_mode7
from gatewayd.wmbus.errors import (
    FormatUnknownError,
    FrameError,
    NoKeyError,
    TelegramError,
    WrongKeyError,
)
from gatewayd.wmbus.link import FrameFormat, add_crcs
from gatewayd.wmbus.telegram import Telegram

KAM_KEY = bytes.fromhex("28F64A24988064A079AA2C807D6102AE")
K1 = bytes.fromhex(
    "2A442D2C998734761B168D2091D37CAC21E1D68CDAFFCD3DC452BD802913FF7B1706CA9E355D6C2701CC24"
)
K1_PLAIN_APL = bytes.fromhex("02FF207100041308190000441308190000615B7F616713")
K2 = bytes.fromhex("23442D2C998734761B168D2087D19EAD21C325443F938ED9AA782A78CF326A2A42C3141A")
K2B = bytes.fromhex("23442D2C998734761B168D20983081B2227A6FA1F10E1B79B5EB4B17E81F930E937EE06C")
K3 = bytes.fromhex(
    "4D44372C525252523A168D203894DF7920F93278"
    "04FF23000000000413AEAC0000441364A80000426C812A023B000092013BEF01A2013B0000"
    "06FF1B067000097000A1015B0C91015B14A1016713"
)
O1 = bytes.fromhex(
    "2E4493157856341233037A2A0020255923C95AAA26D1B2E7493B013EC4A6F6D3529B520EDFF0EA6DEFC99D6D69EBF3"
)
O1_KEY = bytes.fromhex("0102030405060708090A0B0C0D0E0F11")
O2 = bytes.fromhex(
    "304493444433221155378C00757288776655934455080004100500DFE2A782146D1513581CD2F83F39040CFD1078563412"
)
O2_KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
OWN_KEY = bytes.fromhex("5A1B0C3D4E2F60718293A4B5C6D7E8F9")


def values(t: Telegram) -> dict[str, object]:
    """difvif hex -> value (first occurrence)."""
    out: dict[str, object] = {}
    for r in t.records:
        out.setdefault(r.header.difvif.hex().upper(), r.value)
    return out


def test_k1_decrypts_with_ctr_and_verifies_the_payload_crc() -> None:
    t = Decoder().decode(K1, key=KAM_KEY)
    assert t.encrypted
    assert t.id == "76348799" and t.address.manufacturer == "KAM"
    assert t.ell is not None and t.ell.ci == 0x8D and t.ell.acc == 0x91
    assert t.ell.session == 0x21AC7CD3 and t.ell.payload_crc == 0x6C57
    assert t.ci == 0x78
    assert t.apl == K1_PLAIN_APL
    v = values(t)
    assert v["0413"] == 6.408 and v["4413"] == 6.408
    assert v["615B"] == 127 and v["6167"] == 19
    # the format signature of K1's records (Kamstrup's seed table has it)
    assert t.format_signature == 0xA8ED


def test_k1_without_a_key_and_with_a_wrong_key() -> None:
    with pytest.raises(NoKeyError, match="76348799"):
        Decoder().decode(K1)
    with pytest.raises(WrongKeyError, match="wrong key"):
        Decoder().decode(K1, key=bytes(16))


def test_keys_are_looked_up_by_meter_id() -> None:
    t = Decoder(keys={"76348799": KAM_KEY}).decode(K1)
    assert values(t)["0413"] == 6.408
    t = Decoder(keys=lambda mid: KAM_KEY if mid == "76348799" else None).decode(K1)
    assert values(t)["0413"] == 6.408


def test_k1_arrives_as_frame_a_and_frame_b() -> None:
    d = Decoder()
    for fmt in (FrameFormat.A, FrameFormat.B):
        t = d.decode(add_crcs(K1, fmt), fmt, KAM_KEY)
        assert t.apl == K1_PLAIN_APL


def test_compact_k2_decodes_from_the_seed_table() -> None:
    t = Decoder().decode(K2, key=KAM_KEY)
    assert t.compact and t.format_signature == 0xA8ED
    # the rebuilt full APL carries K1's records and its CRC is the FCRC B66A
    assert crc16_en13757(t.apl) == 0xB66A
    v = values(t)
    assert v["0413"] == 6.408 and v["6167"] == 19


def test_real_compact_k2b_after_k1() -> None:
    d = Decoder(keys={"76348799": KAM_KEY})
    d.decode(K1)
    t = d.decode(K2B)
    assert t.compact and crc16_en13757(t.apl) == 0x75E4
    v = values(t)
    assert v["0413"] == 6.409 and v["4413"] == 6.409 and v["6167"] == 22


def test_plaintext_stored_telegram_needs_no_key() -> None:
    # K3 is stored decrypted although its SN says ENC=1: the payload CRC holds as it stands.
    t = Decoder().decode(K3)
    assert t.address.manufacturer == "KAW" and t.id == "52525252"
    v = values(t)
    assert v["0413"] == 44.206 and v["4413"] == 43.108 and v["426C"] == "2020-10-01"


def test_unknown_compact_format_is_a_clear_error_until_a_full_frame() -> None:
    recs = [("0413", (1000).to_bytes(4, "little")), ("023B", (25).to_bytes(2, "little"))]
    compact = kamstrup_c1(meter_id="11112222", key=OWN_KEY, records=recs, compact=True, acc=2)
    full = kamstrup_c1(meter_id="11112222", key=OWN_KEY, records=recs, acc=1)
    d = Decoder(keys={"11112222": OWN_KEY})
    with pytest.raises(FormatUnknownError, match="waiting for a full frame"):
        d.decode(compact)
    d.decode(full)
    assert values(d.decode(compact))["0413"] == 1.0


def test_compact_fcrc_mismatch_is_rejected() -> None:
    recs = [("0413", (1000).to_bytes(4, "little")), ("023B", (25).to_bytes(2, "little"))]
    full = kamstrup_c1(meter_id="11112222", key=None, records=recs, acc=1)
    compact = bytearray(kamstrup_c1(meter_id="11112222", key=None, records=recs, compact=True))
    compact[-1] ^= 0x01  # flip a data bit, then fix the ELL payload CRC so only FCRC can see it
    crc = crc16_en13757(bytes(compact[19:]))
    compact[17:19] = crc.to_bytes(2, "little")
    d = Decoder()
    d.decode(full)
    with pytest.raises(FrameError, match="full-frame CRC"):
        d.decode(bytes(compact))


def test_compact_formats_persist() -> None:
    recs = [("0413", (777).to_bytes(4, "little")), ("523B", (5).to_bytes(2, "little"))]
    full = kamstrup_c1(meter_id="11112223", key=None, records=recs, manufacturer="KAW")
    compact = kamstrup_c1(meter_id="11112223", key=None, records=recs, compact=True,
                          manufacturer="KAW")  # fmt: skip
    d = Decoder()
    d.decode(full)
    assert d.formats.changed
    saved = d.formats.dumps()
    again = Decoder(formats=CompactFormats.loads(saved))
    assert values(again.decode(compact))["0413"] == 0.777
    with pytest.raises(ValueError):
        CompactFormats.loads(saved.replace('"signature": "', '"signature": "F'))


def test_o1_mode5_cbc() -> None:
    t = Decoder().decode(O1, key=O1_KEY)
    assert t.encrypted and t.tpl is not None and t.tpl.security_mode == 5
    assert t.address.manufacturer == "ELS" and t.address.media == "gas"
    v = values(t)
    assert v["0C14"] == 28504.27
    assert v["046D"] == "2008-05-31 23:50"
    assert v["02FD17"] == 0
    with pytest.raises(WrongKeyError):
        Decoder().decode(O1, key=OWN_KEY)
    with pytest.raises(NoKeyError):
        Decoder().decode(O1)


def test_o2_long_header_gives_the_identity_and_iv() -> None:
    t = Decoder().decode(O2, key=O2_KEY)
    assert t.link.address.id == "11223344"  # the radio converter
    assert t.id == "55667788" and t.address.manufacturer == "QDS"
    assert t.tpl is not None and t.tpl.status == 0x04
    v = values(t)
    assert v["0B6E"] == 1234
    assert v["426C"] == "2007-04-30"
    # the clear tail after the encrypted block
    assert t.apl.endswith(bytes.fromhex("0CFD1078563412"))


def test_o2_key_found_by_the_long_header_id() -> None:
    t = Decoder(keys={"55667788": O2_KEY}).decode(O2)
    assert values(t)["0B6E"] == 1234


MODE7_RECS = [("0406", (9341).to_bytes(4, "little")), ("0413", (5).to_bytes(4, "little"))]


def _mode7(key: bytes) -> bytes:
    return oms_mode7(manufacturer="EFE", meter_id="87654321", version=1, device_type=4,
                     key=key, records=MODE7_RECS, mcr=0x25E89, acc=3)  # fmt: skip


def test_mode7_kdf_cmac_cbc() -> None:
    t = Decoder().decode(_mode7(OWN_KEY), key=OWN_KEY)
    assert t.encrypted and t.tpl is not None and t.tpl.security_mode == 7
    assert values(t)["0406"] == 9341
    with pytest.raises(WrongKeyError, match="MAC"):
        Decoder().decode(_mode7(OWN_KEY), key=O1_KEY)


def test_mode7_mac_is_checked_before_decrypting() -> None:
    bad = bytearray(_mode7(OWN_KEY))
    bad[-1] ^= 0x80  # ciphertext changed: the MAC no longer verifies
    with pytest.raises(WrongKeyError, match="MAC"):
        Decoder().decode(bytes(bad), key=OWN_KEY)


def test_mode5_encoder_round_trip_with_clear_tail() -> None:
    recs = [("0413", (4242).to_bytes(4, "little"))]
    tail = bytes.fromhex("02FD170000")
    t = oms_mode5(manufacturer="DWZ", meter_id="20251128", version=2, device_type=7,
                  key=OWN_KEY, records=recs, acc=0x5C, tail=tail)  # fmt: skip
    d = Decoder().decode(t, key=OWN_KEY)
    assert values(d)["0413"] == 4.242 and values(d)["02FD17"] == 0


def test_describe_without_keys() -> None:
    s = describe(K1)
    assert s.address.id == "76348799" and s.ci == 0x8D and s.encrypted
    s = describe(O1)
    assert s.address.manufacturer == "ELS" and s.ci == 0x7A and s.encrypted
    s = describe(O2)
    assert s.address.id == "55667788" and s.encrypted
    plain = kamstrup_c1(meter_id="11112222", key=None, records=MODE7_RECS)
    assert not describe(plain).encrypted


SAMPLES = [K1, K2, K2B, K3, O1, O2, _mode7(OWN_KEY)]
KEYS = {"76348799": KAM_KEY, "52525252": KAM_KEY, "12345678": O1_KEY, "11223344": O2_KEY,
        "87654321": OWN_KEY}  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=260))
def test_fuzz_random_bytes_raise_only_telegram_errors(data: bytes) -> None:
    for fmt in FrameFormat:
        with contextlib.suppress(TelegramError):
            Decoder(keys=KEYS).decode(data, fmt)
        with contextlib.suppress(TelegramError):
            describe(data, fmt)


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(SAMPLES),
    st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255)), min_size=1, max_size=4),
    st.integers(0, 300),
)
def test_fuzz_mutated_telegrams_raise_only_telegram_errors(
    base: bytes, edits: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(base)
    for pos, val in edits:
        data[pos % len(data)] = val
    data = data[: max(cut, 1)]
    for frame in (bytes(data), bytes([len(data) - 1]) + bytes(data[1:])):
        with contextlib.suppress(TelegramError):
            Decoder(keys=KEYS).decode(frame)
        with contextlib.suppress(TelegramError):
            describe(frame)
