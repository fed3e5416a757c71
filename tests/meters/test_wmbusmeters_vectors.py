"""Our drivers against wmbusmeters' published driver tests (tests/vectors/published/: real
telegrams and the values wmbusmeters prints for them, each vector naming its source file).

For every family gatewayd has a driver for, every expected field must match, except those the
link layer decides (id, media, meter) and those listed in NOT_PRODUCED. The vectors are in the
repository, so a plain clone runs these too.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from gatewayd.meters import MeterState, build_reading
from gatewayd.meters.catalog import driver_fields
from gatewayd.meters.model import READING_KEYS
from gatewayd.meters.registry import ENTRY_BY_NAME, load
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import TelegramError
from gatewayd.wmbus.link import FrameFormat
from tests.conftest import OWN_VECTORS, load_vectors

BY_NAME = {name: load(e) for name, e in ENTRY_BY_NAME.items()}

# the families whose drivers these vectors check (our driver names; a vector may name an alias)
FAMILIES = {
    "apator08", "apator162", "apator172", "apatoreitn", "apatorna1", "compact5", "fhkvdataiii",
    "vario451",
    "engelmann_faw", "em24", "qheatv2", "qheat", "qcaloric", "hydroclimav2", "hydroclima",
    "aquastream", "topaseskr", "hydrus", "gwfwater", "kaden", "ei6500", "qsmoke", "lansensm",
    "tsd2", "zenner0b", "mkradio4", "ebzwmbe", "hydrocalm4", "amiplus", "sharky774",
    "qualcosonic", "ultraheat", "lansenth", "lansenpu", "q400", "ultrimisv2", "ultrimis",
    "waterstarm", "itron", "kadenwater", "iwmtx5", "picoflux", "iperl", "istawater",
    "aventieswm", "weh_07", "supercom587", "lansendw", "caltose", "fhkvdataiv", "aventieshca",
    "eurisii", "gwfgas", "elster", "fiowater", "ev200", "watertech",
}  # fmt: skip
FAMILIES |= {
    "abbb23", "actislink", "aerius", "c5isf", "cma12w", "dme173", "dme_07", "ehzp", "elf", "elf2",
    "elvsense", "emerlin868", "esyswm", "evo868", "gransystems", "hcae2", "hydrocalm3",
    "istaheat", "itronheat", "lansenrp", "lse_07_17", "lse_08",
}  # fmt: skip
# more families, from standard records (and rfmtx1's vendor layout)
FAMILIES |= {
    "maddalena", "microclima", "minomess", "mkradio4a", "munia", "op041a", "pollucomf",
    "qheat5us", "qheat_55_us", "rfmamb", "sensostar", "sharky", "sontex868", "supercal",
    "uiws", "unismart", "vario411", "vario451mid", "rfmtx1",
}  # fmt: skip
LINK_LAYER = {"id", "media", "meter"}
# (driver, field): what wmbusmeters prints that our driver does not produce, and why
NOT_PRODUCED: dict[tuple[str, str], str] = {
    ("em24", "error"): "deprecated in wmbusmeters (a copy of status); our readings use "
    '"error" for telegrams that could not be decoded',
    ("eurisii", "error_flags"): "deprecated in wmbusmeters: a copy of status",
    **dict.fromkeys(
        (("elf", "version"), ("esyswm", "version")),
        'a reading\'s "version" is the radio link\'s version number; the text stays in "records"',
    ),
    ("unismart", "version"): "a reading's version is the device version byte; the model "
    "version text wmbusmeters prints there is model_version",
    ("watertech", "software_version"): "a binary record wmbusmeters shows as ASCII text ('+L'); "
    "the decoder gives its hex digits",
}
# (vector, field): a value wmbusmeters prints that our driver does not give, and why
FIELD_GAPS: dict[tuple[str, str], str] = {
    ("istaheat/HeatItUp", "last_year_date"): "an all-zero date; wmbusmeters prints it as "
    "1999-11-30 (day 0 of month 0 of 2000, normalised), the decoder as no date (null)",
}
# vectors published with their DLL block CRCs still in (wmbusmeters finds and removes them)
FRAME_FORMATS = {"hcae2/C1Long": FrameFormat.B, "hcae2/C1Short": FrameFormat.B}
# vectors whose named fields the decoder cannot give yet, and why
VECTOR_GAPS = {
    "waterstarm/water": "its date-time record has the invalid bit set (minute byte 86); "
    "wmbusmeters still prints a time, and the history dates derive from it",
    "waterstarm/water2": "the same invalid-bit date-time record",
    "gwfgas/mygas1": "a set date in 1999 (type G year 99): the decoder's dates are 2000-2127",
}
# drivers only chosen by name: auto-detection picks their successor for the same meters
AUTO_PICKS = {"qheat": "qheatv2", "hydroclima": "hydroclimav2", "ultrimis": "ultrimisv2"}
# LSE 0x23 heat meters are listed by both qheat5us and qheatv2 in wmbusmeters; auto gives
# them to qheatv2 (qheat5us is by name only)
AUTO_PICKS["qheat5us"] = "qheatv2"
# vectors the decoder (not the driver) cannot read yet, and why
DECODER_REJECTS = {
    "hydrus/HydrusAES": "encrypted (mode 5), and the published test names no key",
    "hydroclima/HCAA": "its data (after DIF 0F, version 0x33) is a layout hydroclima does not "
    "read; wmbusmeters prints no value for it either: gatewayd says so (UnreadDataError)",
}
# vectors whose meter auto-detection cannot find, and why
NOT_DETECTED = {
    "hydroclima/HCAA": "version 0x33: wmbusmeters' hydroclima declares no meters to detect",
    "mkradio4a/BAR": "the long TPL header names the meter WEH 0xFE water, which weh_07 detects "
    "(so does wmbusmeters, by the same identity); the test names the driver",
}

VECTORS = [
    v
    for v in load_vectors([OWN_VECTORS / "published" / "wmbusmeters.jsonl"])
    if (d := BY_NAME.get(v["driver"])) is not None and d.name in FAMILIES
]


def _reading(v: dict[str, Any], driver: str) -> dict[str, Any]:
    decoder = Decoder()
    state = MeterState()
    key = bytes.fromhex(v["key"]) if v.get("key") else None
    out: dict[str, Any] = {}
    for t in v["telegrams"]:
        tg = decoder.decode(bytes.fromhex(t), FRAME_FORMATS.get(v["name"], FrameFormat.CLEAN), key)
        out = build_reading(tg, driver=driver, state=state).to_dict()
    return out


def _same(want: object, have: object) -> bool:
    if isinstance(want, int | float) and not isinstance(want, bool):
        return (
            isinstance(have, int | float)
            and not isinstance(have, bool)
            and math.isclose(have, want, rel_tol=1e-6, abs_tol=1e-9)
        )
    return have == want


def test_every_family_has_vectors() -> None:
    assert {BY_NAME[v["driver"]].name for v in VECTORS} == FAMILIES
    assert all(v["source"].startswith("wmbusmeters ") for v in VECTORS)


def _params(vectors: list[dict[str, Any]]) -> list[Any]:
    return [
        pytest.param(
            v,
            id=v["name"],
            marks=[pytest.mark.xfail(strict=True, raises=TelegramError, reason=why)]
            if (why := DECODER_REJECTS.get(v["name"]))
            else [],
        )
        for v in vectors
    ]


@pytest.mark.parametrize("vector", _params(VECTORS))
def test_driver_matches_wmbusmeters(vector: dict[str, Any]) -> None:
    got = _reading(vector, vector["driver"])
    assert got["meter"] == BY_NAME[vector["driver"]].name
    if vector["name"] in VECTOR_GAPS:
        assert got.get("total_m3") == vector["expected"]["total_m3"]
        pytest.xfail(VECTOR_GAPS[vector["name"]])
    bad = [
        f"{name}={got.get(name)!r} want {want!r}"
        for name, want in vector["expected"].items()
        if name not in LINK_LAYER
        and (BY_NAME[vector["driver"]].name, name) not in NOT_PRODUCED
        and (vector["name"], name) not in FIELD_GAPS
        and not _same(want, got.get(name))
    ]
    assert bad == []


@pytest.mark.parametrize("vector", _params([v for v in VECTORS if v["name"] not in NOT_DETECTED]))
def test_auto_detects_the_family(vector: dict[str, Any]) -> None:
    got = _reading(vector, "auto")
    name = BY_NAME[vector["driver"]].name
    assert got["meter"] == AUTO_PICKS.get(name, name)


@pytest.mark.parametrize("vector", _params(VECTORS))
def test_docs_list_every_field_the_driver_produced(vector: dict[str, Any]) -> None:
    got = _reading(vector, vector["driver"])
    documented = set(driver_fields(BY_NAME[vector["driver"]]))
    assert set(got) - READING_KEYS - documented == set()


# qheat5us field -> the qheatv2 field with the same value (docs/meters.md, "Two drivers for one
# identity")
QHEAT5US_AS_QHEATV2 = {
    "total_kwh": "total_kwh",
    "target_kwh": "target_year_kwh",
    "target_date": "target_year_date",
    "meter_datetime": "meter_datetime",
    "status": "status",
}


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["driver"] == "qheat5us"])
def test_auto_reads_a_qheat5us_telegram_with_qheatv2_and_loses_no_value(
    vector: dict[str, Any],
) -> None:
    got = _reading(vector, "auto")
    assert got["meter"] == "qheatv2"
    want = vector["expected"]
    assert {v2: got.get(v2) for v2 in QHEAT5US_AS_QHEATV2.values()} == {
        v2: want[v5] for v5, v2 in QHEAT5US_AS_QHEATV2.items()
    }
