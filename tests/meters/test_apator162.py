"""Apator 16-2: the whole payload is the meter's register layout; register 0x10 is the total in
litres. Published vectors: wmbusmeters' simulations (tests/vectors/published/
wmbusmeters_simulations.jsonl, each naming its source); its driver tests run in
test_wmbusmeters_vectors.py."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from gatewayd.meters import MeterState, build_reading, driver_for
from gatewayd.meters.apator162 import registers
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import UnreadDataError
from gatewayd.wmbus.link import FrameFormat
from gatewayd.wmbus.telegram import Telegram
from tests.conftest import OWN_VECTORS, load_vectors
from tests.meters.builders import address, telegram

LEAD_AND_HEADER = b"\x0f" + bytes(7)  # lead byte, then date and faults
SIMULATIONS = [
    v
    for v in load_vectors([OWN_VECTORS / "published" / "wmbusmeters_simulations.jsonl"])
    if v["driver"] == "apator162"
]


def with_apl(apl: bytes) -> Telegram:
    t = telegram([], addr=address("APA", "20202020", 0x05, 0x07))
    return dataclasses.replace(t, apl=apl)


def reading(v: dict[str, Any], driver: str) -> dict[str, Any]:
    key = bytes.fromhex(v["key"]) if v["key"] else None
    tg = Decoder().decode(bytes.fromhex(v["telegrams"][-1]), FrameFormat.CLEAN, key)
    return build_reading(tg, driver=driver, state=MeterState()).to_dict()


@pytest.mark.parametrize("vector", SIMULATIONS, ids=[v["name"] for v in SIMULATIONS])
@pytest.mark.parametrize("driver", ["apator162", "auto"])
def test_published_simulation_telegrams(vector: dict[str, Any], driver: str) -> None:
    got = reading(vector, driver)
    assert got["meter"] == "apator162"
    assert got["total_m3"] == vector["expected"]["total_m3"]


def test_an_older_meter_leads_with_0x80_not_0x0f() -> None:
    # the published ApWater telegram decrypts to a payload that leads with 0x80, so its
    # records parse as nonsense; the register layout still reads
    (ap_water,) = [v for v in SIMULATIONS if v["name"] == "apator162/ApWater"]
    key = bytes.fromhex(ap_water["key"])
    tg = Decoder().decode(bytes.fromhex(ap_water["telegrams"][0]), FrameFormat.CLEAN, key)
    assert tg.apl[:3] == b"\x2f\x2f\x80"
    apl = b"\x2f\x2f\x80" + bytes(7) + b"\x10" + (4848).to_bytes(4, "little") + b"\xab\xcd"
    assert driver_for(with_apl(apl).address).fields(with_apl(apl)) == {"total_m3": 4.848}


def test_total_after_other_registers() -> None:
    litres = 3843
    data = LEAD_AND_HEADER + bytes([0x43, 0x5B, 0x01]) + bytes([0x83]) + bytes(10)
    data += bytes([0x10]) + litres.to_bytes(4, "little") + b"\xff\xff" + b"\x12\x34"
    t = with_apl(b"\x2f\x2f" + data)
    d = driver_for(t.address)
    assert d.name == "apator162"
    assert d.fields(t) == {"total_m3": 3.843}


def test_the_payload_must_parse_to_its_end() -> None:
    total = bytes([0x10, 1, 0, 0, 0])
    assert registers(LEAD_AND_HEADER + total + b"\xaa\xbb") == {0x10: bytes([1, 0, 0, 0])}
    assert registers(LEAD_AND_HEADER + total + b"\xff\xff\xaa\xbb\xcc\xdd") is not None
    # an unknown register (0x99), a register running past the end, or a tail that is neither
    # padding nor a 2/4-byte checksum: the walk lost its place, nothing is read
    assert registers(LEAD_AND_HEADER + total + bytes([0x99, 1, 2, 3, 4, 5, 6])) is None
    assert registers(LEAD_AND_HEADER + total + bytes([0x88, 1, 2, 3, 4, 5, 6])) is None
    assert registers(LEAD_AND_HEADER + total + b"\xaa") is None
    assert registers(LEAD_AND_HEADER[:5]) is None


def test_a_checksum_that_looks_like_a_register_is_still_the_checksum() -> None:
    # 0x11 (flow) takes 2 bytes: read as a register, one byte would be left over
    data = LEAD_AND_HEADER + bytes([0x10, 7, 0, 0, 0]) + bytes([0x11, 1, 2, 3])
    assert registers(data) == {0x10: bytes([7, 0, 0, 0])}


def test_a_payload_that_does_not_parse_is_unread_data() -> None:
    t = with_apl(b"\x2f\x2f" + LEAD_AND_HEADER + bytes([0x99, 0x10, 1, 0, 0, 0]))
    assert driver_for(t.address).fields(t) == {}
    with pytest.raises(UnreadDataError):
        build_reading(t, driver="apator162", state=MeterState())
