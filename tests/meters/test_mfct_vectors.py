"""The manufacturer-specific drivers against the shared conformance corpus, named
explicitly as the vectors name them: every expected field must match, except those the link
layer decides (id, media: Diehl PRIOS rewrites its A field, Techem has its own device types)
and those listed in NOT_PRODUCED. Without the shared corpus this parametrises over nothing.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from gatewayd.meters import MeterState, build_reading
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import TelegramError
from gatewayd.wmbus.link import FrameFormat
from tests.conftest import load_vectors, shared_vector_files

DRIVERS = {
    "hydrodigit", "qwater", "qwaterv2", "izar", "izarv2", "bfw240radio", "mkradio3",
    "mkradio3a",
}  # fmt: skip
LINK_LAYER = {"id", "media", "meter"}
# fields wmbusmeters prints that these drivers do not (yet) produce
NOT_PRODUCED = {"volume_flow_m3h"}  # qwater 02 BB 56: a flow record of unclear scale, always 0
# vectors whose telegram the decoder rejects (see the lead's decoder notes)
DECODER_REJECTS = {"qwater/MyQWater#1": "the last telegram is longer than its L field says"}

VECTORS = [v for v in load_vectors(shared_vector_files()) if v["driver"] in DRIVERS]


def _reading(v: dict[str, Any]) -> dict[str, Any]:
    decoder = Decoder()
    state = MeterState()
    key = bytes.fromhex(v["key"]) if v.get("key") else None
    out: dict[str, Any] = {}
    for t in v["telegrams"]:
        tg = decoder.decode(bytes.fromhex(t), FrameFormat.CLEAN, key)
        out = build_reading(tg, driver=v["driver"], state=state).to_dict()
    return out


def _same(want: object, have: object) -> bool:
    if isinstance(want, int | float) and not isinstance(want, bool):
        return (
            isinstance(have, int | float)
            and not isinstance(have, bool)
            and math.isclose(have, want, rel_tol=1e-9, abs_tol=1e-12)
        )
    return have == want


@pytest.mark.parametrize(
    "vector",
    [
        pytest.param(
            v,
            id=v["name"],
            marks=[pytest.mark.xfail(strict=True, raises=TelegramError, reason=why)]
            if (why := DECODER_REJECTS.get(v["name"]))
            else [],
        )
        for v in VECTORS
    ],
)
def test_driver_matches_wmbusmeters(vector: dict[str, Any]) -> None:
    got = _reading(vector)
    assert got["meter"] == vector["driver"]
    bad = [
        f"{name}={got.get(name)!r} want {want!r}"
        for name, want in vector["expected"].items()
        if name not in LINK_LAYER | NOT_PRODUCED and not _same(want, got.get(name))
    ]
    assert bad == []
