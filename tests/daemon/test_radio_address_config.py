"""A meter that sends through a radio module (or a repeater with an address of its own) has two
addresses: the link layer's (the module's) and the meter's own in the long transport header. A
[[meters]] entry, and the key that comes with it, is found by either, the meter's own first, as
wmbusmeters matches either. Telegrams are wmbusmeters' published driver tests: the Engelmann
FAW "Wasserzaehler#2" (encrypted, radio 22502855, meter 22862420, with its published key) and
the Qundis "QHeato" (radio converter 37027095, meter 67228058)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gatewayd.commands.commission import Commissioner
from gatewayd.config.schema import Config
from gatewayd.config.secrets import Key
from gatewayd.config.sections import MeterSettings
from gatewayd.daemon.pipeline import Pipeline
from gatewayd.daemon.stats import Stats
from gatewayd.meters.model import Reading
from gatewayd.radios.base import LinkMode, RadioFrame
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import WrongKeyError
from gatewayd.wmbus.link import FrameFormat
from tests.conftest import OWN_VECTORS, load_vectors

VECTORS = {
    v["name"]: v
    for v in load_vectors([OWN_VECTORS / "published" / "wmbusmeters.jsonl"])
    if v["name"] in ("engelmann-faw/Wasserzaehler#2", "qheatv2/QHeato")
}
FAW = VECTORS["engelmann-faw/Wasserzaehler#2"]
QHEAT = VECTORS["qheatv2/QHeato"]


def run(meters: tuple[MeterSettings, ...], v: dict[str, Any]) -> tuple[Reading | None, Stats]:
    stats = Stats()
    pipeline = Pipeline(Config(path=Path("/nonexistent/config.toml"), meters=meters), stats=stats)
    reading = None
    for hexframe in v["telegrams"]:
        rf = RadioFrame(bytes.fromhex(hexframe), -70.0, LinkMode.C1, FrameFormat.CLEAN, 0.0)
        reading = pipeline.handle(rf)
    return reading, stats


def test_the_published_frames_have_two_addresses() -> None:
    # the link-layer id is bytes 4-7 of the frame, least significant first
    assert bytes.fromhex(FAW["telegrams"][-1])[4:8][::-1].hex() == "22502855" != FAW["id"]
    assert bytes.fromhex(QHEAT["telegrams"][-1])[4:8][::-1].hex() == "37027095" != QHEAT["id"]


def test_an_entry_by_the_radio_address_finds_the_meter_and_its_key() -> None:
    key = Key(bytes.fromhex(FAW["key"]))
    reading, stats = run((MeterSettings(id="22502855", name="kitchen", key=key),), FAW)
    assert reading is not None
    assert stats.snapshot()["unconfigured"] == 0
    got = reading.to_dict()
    assert (got["id"], got["name"]) == (FAW["id"], "kitchen")  # the meter's own id names it
    assert got["total_m3"] == FAW["expected"]["total_m3"]


def test_the_meter_address_wins_over_the_radio_address() -> None:
    meters = (
        MeterSettings(id="37027095", name="converter", encrypted=False, driver="qheat"),
        MeterSettings(id=QHEAT["id"], name="heat meter", encrypted=False, driver="qheatv2"),
    )
    reading, _ = run(meters, QHEAT)
    assert reading is not None
    got = reading.to_dict()
    assert (got["name"], got["meter"]) == ("heat meter", "qheatv2")
    assert got["total_kwh"] == QHEAT["expected"]["total_kwh"]


def test_the_radio_entry_settings_apply_when_it_is_the_only_one() -> None:
    meters = (MeterSettings(id="37027095", name="converter", encrypted=False, driver="qheat"),)
    reading, _ = run(meters, QHEAT)
    assert reading is not None
    assert (reading.to_dict()["name"], reading.to_dict()["meter"]) == ("converter", "qheat")


def test_a_meter_known_by_neither_address_is_unconfigured() -> None:
    reading, stats = run((MeterSettings(id="12345678", name="other", encrypted=False),), QHEAT)
    assert reading is None
    assert stats.snapshot()["unconfigured"] == 1


def test_listen_knows_the_meter_by_its_radio_entry_and_opens_it_with_that_key() -> None:
    entry = MeterSettings(id="22502855", name="kitchen", key=Key(bytes.fromhex(FAW["key"])))
    listen = Commissioner({"22502855": bytes.fromhex(FAW["key"])}, {"22502855": entry})
    frame = bytes.fromhex(FAW["telegrams"][-1])
    out = listen.check(RadioFrame(frame, -70.0, LinkMode.C1, FrameFormat.CLEAN, 0.0))
    assert (out["id"], out["name"], out["key"]) == (FAW["id"], "kitchen", "ok")
    assert "key_of" not in out
    assert [s["id"] for s in listen.summaries()] == [FAW["id"]]  # not "never heard" as well


def test_the_key_of_the_meter_address_comes_first() -> None:
    frame = bytes.fromhex(FAW["telegrams"][-1])
    right, wrong = bytes.fromhex(FAW["key"]), bytes(range(16))
    assert Decoder(keys={"22502855": wrong, FAW["id"]: right}).decode(frame).id == FAW["id"]
    assert Decoder(keys={"22502855": right}).decode(frame).id == FAW["id"]
    with pytest.raises(WrongKeyError):  # the meter's own key is the one; no second guess
        Decoder(keys={"22502855": right, FAW["id"]: wrong}).decode(frame)
