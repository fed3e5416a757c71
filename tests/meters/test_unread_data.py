"""A telegram whose data no driver reads says so: an UnreadDataError (counted as unsupported,
printed by `decode` as an error line), never a reading with nothing in it. A telegram that
carries no data at all is still a reading (its TPL status is all there is to tell)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatewayd.config.load import parse_config
from gatewayd.daemon.pipeline import Pipeline
from gatewayd.daemon.stats import Stats, error_counter
from gatewayd.meters import build_reading
from gatewayd.radios.base import LinkMode, RadioFrame
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import UnreadDataError, UnsupportedError
from gatewayd.wmbus.link import FrameFormat

# wmbusmeters' published fhkvdataiii "Room" telegram (Techem CI 0xA0 layout 0x11) ...
FHKV = (
    "34446850226677116980A0119F27020480048300C408F709143C003D341A2B0B2A07070000"
    "00000000062D114457563D71A1850000"
)
# ... with version 0x55, which no driver claims
UNKNOWN_VERSION = FHKV[:16] + "55" + FHKV[18:]
# ... with layout byte 0xFF, which the FHKV data III does not have
UNKNOWN_LAYOUT = FHKV[:22] + "FF" + FHKV[24:]
# wmbusmeters' published rfmtx1 telegram (security mode 16), device type changed to 0x09
RFMTX1 = (
    "4644B4097172737405077AA50006101115F78184AB0F1D1E200000005904103103208047004A48"
    "00E73C00193E00453F003E4000E64000E74100F442000144001545005B460000"
)
OTHER_MODE_16 = RFMTX1[:18] + "09" + RFMTX1[20:]
# "XYZ" water meter, CI 0x7A, short TPL header, no data at all (status byte 0x04: power low)
HEADER_ONLY = "0E443A637856341201077A01040000"


def reading(hexframe: str, driver: str = "auto") -> dict[str, object]:
    return build_reading(Decoder().decode(bytes.fromhex(hexframe)), driver=driver).to_dict()


def test_the_published_telegrams_read() -> None:
    assert reading(FHKV)["current_hca"] == 131
    assert reading(RFMTX1)["total_m3"] == 188.56


def test_a_manufacturer_frame_no_driver_claims_is_an_error() -> None:
    with pytest.raises(UnreadDataError, match="no driver reads this TCH version 0x55") as e:
        reading(UNKNOWN_VERSION)
    assert e.value.meter_id == "11776622" and "manufacturer CI 0xA0" in str(e.value)
    assert isinstance(e.value, UnsupportedError) and error_counter(e.value) == "unsupported"


def test_a_layout_its_driver_does_not_know_is_an_error() -> None:
    with pytest.raises(UnreadDataError, match="driver fhkvdataiii read nothing"):
        reading(UNKNOWN_LAYOUT)
    with pytest.raises(UnreadDataError, match="driver fhkvdataiii read nothing"):
        reading(UNKNOWN_LAYOUT, driver="fhkvdataiii")


def test_a_vendor_security_mode_no_driver_reads_is_an_error() -> None:
    tg = Decoder().decode(bytes.fromhex(OTHER_MODE_16))
    assert tg.records == () and tg.manufacturer_data == bytes.fromhex(RFMTX1[30:])
    with pytest.raises(UnreadDataError, match="vendor security mode 16"):
        build_reading(tg)


def test_a_telegram_without_data_is_still_a_reading() -> None:
    r = reading(HEADER_ONLY)
    assert r["meter"] == "oms" and r["status"] == "POWER_LOW" and r["records"] == []
    # CI 0x8A announces no application data: bytes after its header are not a layout to read
    r = reading("10443A637856341201078A010400001234")
    assert r["status"] == "POWER_LOW" and r["records"] == []


def test_decode_prints_an_error_line_and_exits_1() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "gatewayd", "decode", UNKNOWN_VERSION],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert out["id"] == "11776622" and "no driver reads" in out["error"]
    assert out["raw"] == UNKNOWN_VERSION


def test_the_daemon_counts_it_as_unsupported_and_publishes_nothing(tmp_path: Path) -> None:
    data = {
        "gateway": {"id": "gw", "state_dir": str(tmp_path)},
        "radio": {"kind": "im871a", "device": str(tmp_path / "tty"), "mode": "c1"},
        "meters": [{"id": "11776622", "encrypted": False}],
    }
    stats = Stats()
    pipeline = Pipeline(parse_config(data, tmp_path / "config.toml"), stats=stats)
    for acc, frame in enumerate((UNKNOWN_VERSION, FHKV)):
        raw = bytearray.fromhex(frame)
        raw[11] = acc  # another telegram, not a duplicate
        got = pipeline.handle(RadioFrame(bytes(raw), -70.0, LinkMode.C1, FrameFormat.CLEAN, 0.0))
        assert (got is None) == (frame == UNKNOWN_VERSION)
    c = stats.counts
    assert (c["frames"], c["unsupported"], c["decoded"], c["published"]) == (2, 1, 1, 1)
