"""A key of the wrong kind (a DES key for an AES meter, a length no cipher of the meter uses)
is a KeyKindError naming the meter: nothing is decoded with it, no partial reading, and the
daemon counts it as a wrong key. Telegrams are wmbusmeters' published driver tests (Apator NA-1
from tests/vectors/published/, Diehl Sharky "Heat"); their keys are the published ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gatewayd.config.schema import Config
from gatewayd.config.secrets import Key
from gatewayd.config.sections import MeterSettings
from gatewayd.daemon.pipeline import Pipeline
from gatewayd.daemon.stats import Stats
from gatewayd.meters import MeterState, build_reading
from gatewayd.radios.base import LinkMode, RadioFrame
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.diehl import DEFAULT_KEYS
from gatewayd.wmbus.errors import KeyKindError, NoKeyError, WrongKeyError
from gatewayd.wmbus.link import FrameFormat
from tests.conftest import OWN_VECTORS, load_vectors

(NA1,) = [
    v
    for v in load_vectors([OWN_VECTORS / "published" / "wmbusmeters.jsonl"])
    if v["name"] == "apatorna1/ApNa1"
]
NA1_FRAME = bytes.fromhex(NA1["telegrams"][0])
NA1_KEY = bytes.fromhex(NA1["key"])
DES_KEY = bytes(8)
# sharky "Heat" (HYD, CI 7A, Diehl real-data mode 21): opened by the second default key
SHARKY = bytes.fromhex(
    "534424232004256092687A370045752235854DEEEA5939FAD81C25FEEF5A23C38FB9168493C563F08DB10BAF"
    "87F660FBA91296BA2397E8F4220B86D3A192FB51E0BFCF24DCE72118E0C75A9E89F43BDFE370824B"
)


def na1_reading(key: bytes | None) -> dict[str, Any]:
    tg = Decoder().decode(NA1_FRAME, FrameFormat.CLEAN, key)
    return build_reading(tg, state=MeterState()).to_dict()


def test_apatorna1_with_its_aes_key_reads_the_published_values() -> None:
    got = na1_reading(NA1_KEY)
    assert got["total_m3"] == NA1["expected"]["total_m3"]
    assert got["frame_status"] == NA1["expected"]["frame_status"]


def test_apatorna1_with_a_des_key_is_a_key_kind_error_naming_the_meter() -> None:
    with pytest.raises(KeyKindError) as err:
        na1_reading(DES_KEY)
    assert err.value.meter_id == NA1["id"]
    assert "DES key" in str(err.value) and "AES-128 key (32 hex digits)" in str(err.value)
    assert isinstance(err.value, WrongKeyError)  # counted as a wrong key


def test_apatorna1_without_a_key_reads_nothing() -> None:
    with pytest.raises(NoKeyError) as err:
        na1_reading(None)
    assert err.value.meter_id == NA1["id"]


def test_diehl_real_data_takes_an_8_byte_key_or_an_aes_key_and_nothing_else() -> None:
    default = DEFAULT_KEYS[1]
    for key in (default, default + bytes(8)):  # the AES key's first 8 bytes, as wmbusmeters
        assert Decoder().decode(SHARKY, key=key).id == "68926025"
    for key in (default[:5], default + bytes(4), default * 3):
        with pytest.raises(KeyKindError) as err:
            Decoder().decode(SHARKY, key=key)
        assert err.value.meter_id == "68926025"
        assert f"{len(key)} bytes" in str(err.value)


def test_the_daemon_counts_a_wrong_kind_key_and_publishes_nothing() -> None:
    meter = MeterSettings(id=NA1["id"], name="na1", key=Key(DES_KEY))
    stats = Stats()
    pipeline = Pipeline(Config(path=Path("/nonexistent/config.toml"), meters=(meter,)), stats=stats)
    rf = RadioFrame(NA1_FRAME, -70.0, LinkMode.T1, FrameFormat.CLEAN, 0.0)
    assert pipeline.handle(rf) is None
    assert stats.snapshot()["wrong_key"] == 1
    assert stats.snapshot()["decoded"] == 0
