"""TPL security mode 2 (DES-CBC, zero IV): the published ActisLink telegram of wmbusmeters'
actislink driver test, with its published key; and what a missing or wrong key gives."""

from __future__ import annotations

import pytest

from gatewayd.wmbus.crypto import des_cbc_decrypt
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import NoKeyError, WrongKeyError
from gatewayd.wmbus.link import FrameFormat

# wmbusmeters drivers/src/actislink.xmq, test GURKA (commit 4dedd717d3af): total_m3 = 1
FRAME = bytes.fromhex("1E468B050100000004077A01001002BBD1EAFD0222F871CB70DA16C78AE098")
KEY = bytes.fromhex("0102030405060708")


def test_mode_2_decrypts_with_the_published_key() -> None:
    tg = Decoder().decode(FRAME, FrameFormat.CLEAN, KEY)
    assert tg.tpl is not None and tg.tpl.security_mode == 2
    volume = [r for r in tg.records if r.header.vif_range == "volume"]
    assert [r.value for r in volume] == [1]  # 0x03E8 litres


def test_des_is_single_des_in_cbc_mode() -> None:
    # FIPS 81 (DES modes of operation), CBC example: key 0123456789abcdef,
    # IV 1234567890abcdef, plaintext "Now is the time for all " (first block)
    key = bytes.fromhex("0123456789abcdef")
    iv = bytes.fromhex("1234567890abcdef")
    cipher = bytes.fromhex("e5c7cdde872bf27c")
    assert des_cbc_decrypt(key, iv, cipher, "m") == b"Now is t"


def test_mode_2_without_a_key_says_so() -> None:
    with pytest.raises(NoKeyError, match="mode 2"):
        Decoder().decode(FRAME, FrameFormat.CLEAN, None)


def test_mode_2_with_a_wrong_key_says_so() -> None:
    with pytest.raises(WrongKeyError, match="wrong key"):
        Decoder().decode(FRAME, FrameFormat.CLEAN, bytes(8))


def test_mode_2_with_an_aes_key_names_the_meter_and_the_kind() -> None:
    with pytest.raises(WrongKeyError, match=r"meter 00000001: .*AES-128 key.*needs a DES key"):
        Decoder().decode(FRAME, FrameFormat.CLEAN, bytes(range(16)))


def test_an_aes_mode_with_a_des_key_names_the_meter_and_the_kind() -> None:
    # The same telegram announcing TPL mode 5 (CFG 0x0510 -> 0x0510 with mode bits 5)
    cfg_at = 13  # 1E 44 mfct(2) id(4) ver type | CI acc sts CFG(2)
    assert FRAME[cfg_at - 3] == 0x7A
    mode5 = FRAME[:cfg_at] + bytes([FRAME[cfg_at], 0x05]) + FRAME[cfg_at + 2 :]
    with pytest.raises(WrongKeyError, match=r"meter 00000001: .*DES key.*needs an AES-128 key"):
        Decoder().decode(mode5, FrameFormat.CLEAN, KEY)
