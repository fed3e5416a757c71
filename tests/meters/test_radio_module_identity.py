"""A meter behind a radio module: the long TPL header gives the meter's identity, the link
layer the module's. The reading, its state and its key follow the meter's identity; the
driver too, and when that identity finds none, the module's (the identity wmbusmeters detects
by). wmbusmeters' ESYS-WM test pair (esyswm/Elen2#2) is the published case: the first
telegram's header says ETY, the second's ESY, both behind module ESY/0x30/0x37, and the
published values are those of both telegrams merged into one meter."""

from __future__ import annotations

import math
from typing import Any

from gatewayd.meters.reading import MeterState, build_reading
from gatewayd.meters.registry import detect
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.link import Address, FrameFormat
from tests.conftest import OWN_VECTORS, load_vectors


def _vector(name: str) -> dict[str, Any]:
    (v,) = [
        v
        for v in load_vectors([OWN_VECTORS / "published" / "wmbusmeters.jsonl"])
        if v["name"] == name
    ]
    return v


def _address(mfct: str, version: int, device_type: int) -> Address:
    return Address(mfct, "77997799", version, device_type, bytes(8))


def test_the_meter_identity_decides_the_module_identity_is_the_fallback() -> None:
    module = _address("ESY", 0x30, 0x37)
    assert detect(_address("ETY", 0x11, 0x02)).name == "oms"  # nothing claims ETY/11/02
    assert detect(_address("ETY", 0x11, 0x02), radio=module).name == "esyswm"
    # a meter identity with a driver of its own keeps it, whatever module sends for it
    assert detect(_address("KAM", 0x1B, 0x16), radio=module).name == "kamwater"


def test_both_telegrams_are_one_meter_with_the_published_values() -> None:
    v = _vector("esyswm/Elen2#2")
    decoder, state = Decoder(), MeterState()
    readings = []
    for hexframe in v["telegrams"]:
        telegram = decoder.decode(bytes.fromhex(hexframe), FrameFormat.CLEAN)
        assert telegram.link.address.manufacturer == "ESY"  # the module, both times
        readings.append(build_reading(telegram, driver="auto", state=state).to_dict())
    assert [r["manufacturer"] for r in readings] == ["ETY", "ESY"]  # as the headers say
    assert [(r["id"], r["meter"]) for r in readings] == [("77997799", "esyswm")] * 2
    assert len(state) == 1
    last = readings[-1]
    for name, want in v["expected"].items():
        if name == "version":  # wmbusmeters' text field; the reading's version is the link's
            continue
        have = last[name]
        if isinstance(want, float):
            assert math.isclose(have, want, rel_tol=1e-9), name
        else:
            assert have == want, name
    # the first telegram's fields (fabrication_no, enhanced_id, location) carried over
    assert (
        "fabrication_no"
        not in build_reading(
            decoder.decode(bytes.fromhex(v["telegrams"][1]), FrameFormat.CLEAN), driver="auto"
        ).to_dict()
    )
