"""Diehl frames: the identity as the meter means it and the "real data" LFSR (security modes
16-31). Telegrams and expected values are the reference decoder's published driver tests."""

from __future__ import annotations

import pytest

from gatewayd.wmbus.decode import Decoder, describe
from gatewayd.wmbus.errors import NoKeyError, WrongKeyError

# sharky "Heat": HYD, CI 7A, security mode 21, obfuscated with the second default key
SHARKY = bytes.fromhex(
    "534424232004256092687A370045752235854DEEEA5939FAD81C25FEEF5A23C38FB9168493C563F08DB10BAF"
    "87F660FBA91296BA2397E8F4220B86D3A192FB51E0BFCF24DCE72118E0C75A9E89F43BDFE370824B"
)
# hydrus "HydrusIzarRS": HYD, mode 29, stored already in clear
HYDRUS = bytes.fromhex("1E4424238B07797389607A8F00107D041312170100426CBF23441344100100")
# izar "IzarWater2": DME PRIOS (CI A2), and "IzarWater" from SAP, whose id is kept
IZAR_DME = bytes.fromhex(
    "2944A511780729662366A20118001378D3B3DB8CEDD77731F25832AAF3DA8CADF9774EA673172E8C61F2"
)
IZAR_SAP = bytes.fromhex("1944304C72242421D401A2013D4013DD8B46A4999C1293E582CC")


def _values(frame: bytes) -> dict[str, object]:
    return {r.header.difvif.hex().upper(): r.value for r in Decoder().decode(frame).records}


def test_real_data_frame_is_deobfuscated_with_the_default_keys() -> None:
    t = Decoder().decode(SHARKY)
    assert t.id == "68926025" and t.address.device_type == 0x04 and t.encrypted
    v = _values(SHARKY)
    assert v["0C06"] == 2651  # total energy, kWh
    assert v["0C13"] == 150.347  # total volume, m3


def test_real_data_frame_stored_in_clear_passes_the_same_check() -> None:
    t = Decoder().decode(HYDRUS)
    assert t.id == "60897379" and t.address.version == 0x8B and t.address.media == "water"
    assert not t.encrypted
    v = _values(HYDRUS)
    assert v["0413"] == 71.442 and v["426C"] == "2021-03-31" and v["4413"] == 69.7


def test_a_real_data_frame_that_fails_the_check_is_refused() -> None:
    bad = bytearray(SHARKY)
    bad[20] ^= 0x01
    with pytest.raises(NoKeyError):
        Decoder().decode(bytes(bad))
    with pytest.raises(WrongKeyError):
        Decoder().decode(SHARKY, key=bytes(16))  # a configured key replaces the defaults


def test_prios_identity_is_rewritten_except_for_sap() -> None:
    assert describe(IZAR_DME).address.id == "66236629"
    assert describe(SHARKY).address.id == "68926025"
    sap = describe(IZAR_SAP).address
    assert sap.id == "21242472" and sap.version == 0 and sap.media == "water"


def test_the_key_is_found_by_the_rewritten_identity() -> None:
    bad_key = bytes(16)
    t = Decoder(keys={"60925620": bad_key}.get).decode(SHARKY)  # the id as sent: not used
    assert t.id == "68926025"
    with pytest.raises(WrongKeyError):
        Decoder(keys={"68926025": bad_key}).decode(SHARKY)
