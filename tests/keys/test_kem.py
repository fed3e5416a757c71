"""KEM import (Kamstrup's encrypted key files) against KEM files built by tests/keys/kemfiles.py."""

from __future__ import annotations

import base64
import re

import pytest

from gatewayd.config.kem import DamagedKemError, KemError, WrongPasswordError, read_kem
from tests.keys import kemfiles as K

PASSWORD = "12345678"  # a customer number, as Kamstrup uses by default
EXPECTED = {
    "76348799": bytes.fromhex("28F64A24988064A079AA2C807D6102AE"),
    "12345678": bytes.fromhex("000102030405060708090A0B0C0D0E0F"),
    "05551234": bytes.fromhex("F0E1D2C3B4A5968778695A4B3C2D1E0F"),
}
ALL_KEY_HEX = [m.dek for m in K.METERS]


def _keys(data: bytes, password: str = PASSWORD) -> dict[str, bytes]:
    return {m.id: m.key for m in read_kem(data, password).meters}


def _assert_no_key_in(text: str) -> None:
    for hexkey in ALL_KEY_HEX:
        assert hexkey.lower() not in text.lower()


@pytest.mark.parametrize(
    ("xml", "schema"), [(K.kem1_xml(), "KEM v1"), (K.kem2_xml(), "KEM2")], ids=["kem1", "kem2"]
)
@pytest.mark.parametrize("pkcs7", [False, True], ids=["nul-padded", "pkcs7-padded"])
def test_raw_kem_files_give_every_meter_key(xml: str, schema: str, pkcs7: bool) -> None:
    kem = read_kem(K.kem_file(xml, PASSWORD, pkcs7=pkcs7), PASSWORD)
    assert kem.schema == schema
    assert {m.id: m.key for m in kem.meters} == EXPECTED
    assert [m.model for m in kem.meters] == ["MC21", "MC21", "KWM2210"]
    assert kem.skipped == ()


def test_kem2_takes_the_dek_not_the_first_key_value() -> None:
    # Every KEM2 device in the fixture lists GPK1 = 11…11 before its DEK.
    keys = _keys(K.kem_file(K.kem2_xml(), PASSWORD))
    assert bytes.fromhex("11" * 16) not in keys.values()


@pytest.mark.parametrize("member", ["76348799.kem", "export/site.KEM2", "x.kem"])
def test_zipped_kem_is_unpacked(member: str) -> None:
    inner = K.kem_file(K.kem2_xml() if "2" in member else K.kem1_xml(), PASSWORD)
    data = K.zipped({"readme.txt": b"not a key file", member: inner})
    assert _keys(data) == EXPECTED


def test_zip_with_two_kem_files_merges_both() -> None:
    first = K.kem_file(K.kem1_xml(K.METERS[:1]), PASSWORD)
    second = K.kem_file(K.kem2_xml(K.METERS[1:]), PASSWORD)
    kem = read_kem(K.zipped({"a.kem": first, "b.kem2": second}), PASSWORD)
    assert {m.id: m.key for m in kem.meters} == EXPECTED
    assert kem.schema == "KEM v1 + KEM2"


def test_long_password_is_truncated_to_16_bytes() -> None:
    password = "correct horse battery staple"
    data = K.kem_file(K.kem1_xml(), password)
    assert _keys(data, password) == EXPECTED
    assert _keys(data, password[:16] + "anything else") == EXPECTED


def test_non_ascii_password_is_utf8() -> None:
    password = "Grüße-2024"
    assert _keys(K.kem_file(K.kem1_xml(), password), password) == EXPECTED


@pytest.mark.parametrize("wrong", ["12345679", "", "1234567", "12345678 "])
def test_wrong_password_is_a_clear_error_without_keys(wrong: str) -> None:
    data = K.kem_file(K.kem1_xml(), PASSWORD)
    with pytest.raises(WrongPasswordError, match="wrong password") as info:
        read_kem(data, wrong)
    _assert_no_key_in(str(info.value))


def test_truncated_document_is_damaged() -> None:
    data = K.kem_file(K.kem1_xml(), PASSWORD)
    with pytest.raises(DamagedKemError, match="not an XML-Encryption document"):
        read_kem(data[: len(data) // 2], PASSWORD)


def test_ciphertext_not_a_multiple_of_16_is_damaged() -> None:
    ciphertext = K.encrypt(K.kem1_xml().encode(), PASSWORD)
    with pytest.raises(DamagedKemError, match="not a non-zero multiple of 16"):
        read_kem(K.wrap(ciphertext[:-5]), PASSWORD)


def test_ciphertext_missing_whole_blocks_is_reported() -> None:
    # Cut at a block boundary: it decrypts, but the XML ends early.
    ciphertext = K.encrypt(K.kem1_xml().encode(), PASSWORD)
    with pytest.raises(KemError, match="wrong password or damaged file") as info:
        read_kem(K.wrap(ciphertext[:64]), PASSWORD)
    _assert_no_key_in(str(info.value))


def test_broken_base64_is_damaged() -> None:
    data = K.kem_file(K.kem1_xml(), PASSWORD)
    broken = re.sub(rb"<CipherValue>(.{10})", rb"<CipherValue>\1%%", data, count=1)
    with pytest.raises(DamagedKemError, match="base64"):
        read_kem(broken, PASSWORD)


def test_truncated_zip_is_damaged() -> None:
    data = K.zipped({"a.kem": K.kem_file(K.kem1_xml(), PASSWORD)})
    with pytest.raises(DamagedKemError, match="damaged zip"):
        read_kem(data[: len(data) - 30], PASSWORD)


def test_zip_without_kem_member_names_its_content() -> None:
    with pytest.raises(DamagedKemError, match=r"no \.kem or \.kem2 file.*notes\.txt"):
        read_kem(K.zipped({"notes.txt": b"hello"}), PASSWORD)


def test_document_without_cipher_value() -> None:
    with pytest.raises(DamagedKemError, match="no <CipherValue>"):
        read_kem(b"<EncryptedData><CipherData/></EncryptedData>", PASSWORD)


def test_dtd_is_refused() -> None:
    doc = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
        b"<EncryptedData><CipherValue>&a;</CipherValue></EncryptedData>"
    )
    with pytest.raises(DamagedKemError, match="DTD"):
        read_kem(doc, PASSWORD)


def test_unknown_schema_after_decryption() -> None:
    data = K.kem_file("<Something><Meter/></Something>", PASSWORD)
    with pytest.raises(DamagedKemError, match="unknown KEM schema: root element <Something>"):
        read_kem(data, PASSWORD)


def test_unusable_entries_are_skipped_with_reasons_not_keys() -> None:
    meters = (
        *K.METERS[:1],
        K.Meter("7634879", "ABCD", "MC21"),  # DEK too short
        K.Meter("1234567890", "00" * 16, "MC21"),  # serial too long for a wM-Bus id
    )
    kem = read_kem(K.kem_file(K.kem1_xml(meters), PASSWORD), PASSWORD)
    assert [m.id for m in kem.meters] == ["76348799"]
    assert len(kem.skipped) == 2
    assert "DEK is not 32 hex digits" in kem.skipped[0]
    assert "serial number is not 1-8 decimal digits" in kem.skipped[1]
    _assert_no_key_in(" ".join(kem.skipped))


def test_repr_of_a_meter_hides_its_key() -> None:
    meter = read_kem(K.kem_file(K.kem1_xml(), PASSWORD), PASSWORD).meters[0]
    _assert_no_key_in(repr(meter))
    assert "76348799" in repr(meter)


def test_fixture_ciphertext_really_is_aes_cbc_with_password_iv() -> None:
    # Guard for the builder itself: the first block decrypts with key = IV = password bytes
    # to the start of the XML, computed here without the builder's encrypt().
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    data = K.kem_file(K.kem1_xml(), PASSWORD)
    b64 = re.search(rb"<CipherValue>(.*?)</CipherValue>", data, re.S)
    assert b64 is not None
    ciphertext = base64.b64decode(b"".join(b64.group(1).split()))
    key = b"12345678" + bytes(8)
    dec = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    first = dec.update(ciphertext[:16]) + dec.finalize()
    assert bytes(a ^ b for a, b in zip(first, key, strict=True)) == b'<?xml version="1'
