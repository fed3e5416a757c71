"""`gatewayd listen`'s key results, driver and value on real vector telegrams (the shared corpus).

Each telegram is tried with its vector's key, with another vector's key and with an all-zero
key; what must come out (the driver, the total) is the vector's expected wmbusmeters output.
"""

from __future__ import annotations

from typing import Any

import pytest

from gatewayd.commands.commission import Commissioner, is_repeated
from gatewayd.commands.listen import format_line
from gatewayd.radios.base import LinkMode, RadioFrame
from gatewayd.wmbus.link import FrameFormat
from tests.conftest import load_vectors, shared_vector_files

ZERO = bytes(16)


def _vectors() -> dict[str, dict[str, Any]]:
    files = [f for f in shared_vector_files() if f.name == "encrypted.jsonl"]
    return {v["name"]: v for v in load_vectors(files)}


VECTORS = _vectors()
needs_vectors = pytest.mark.skipif(not VECTORS, reason="shared vectors not in this clone")


def _frame(hex_text: str, t: float = 0.0, rssi: float | None = -70.0) -> RadioFrame:
    return RadioFrame(bytes.fromhex(hex_text), rssi, LinkMode.C1, FrameFormat.CLEAN, t, "test")


def _last(keys: dict[str, bytes], vector: dict[str, Any]) -> dict[str, Any]:
    check = Commissioner(keys)
    out: dict[str, Any] = {}
    for n, telegram in enumerate(vector["telegrams"]):
        out = check.check(_frame(telegram, float(n)))
    return out


@needs_vectors
@pytest.mark.parametrize("name", ["real/multical21/76348799", "real/waterstarm/20096221"])
def test_the_right_key_is_ok_and_gives_the_driver_and_total(name: str) -> None:
    v = VECTORS[name]
    out = _last({v["id"]: bytes.fromhex(v["key"])}, v)
    assert out["key"] == "ok", out
    assert out["driver"] == v["expected"]["meter"]
    assert out["value"]["field"] == "total_m3"
    assert out["value"]["value"] == pytest.approx(v["expected"]["total_m3"])
    assert v["key"] not in str(out).upper()  # the key is never in what is printed


@needs_vectors
def test_a_wrong_key_is_wrong_and_names_the_meter_whose_key_opens_it() -> None:
    v = VECTORS["real/multical21/76348799"]
    other = VECTORS["real/waterstarm/20096221"]
    out = _last({v["id"]: bytes.fromhex(other["key"])}, v)
    assert (out["key"], "driver" in out) == ("wrong_key", False)
    assert "WRONG KEY" in format_line(out)
    # its key filed under another meter's id: found, and said so
    out = _last({v["id"]: bytes.fromhex(other["key"]), "99999999": bytes.fromhex(v["key"])}, v)
    assert (out["key"], out["key_of"], out["driver"]) == ("wrong_key", "99999999", "kamwater")
    assert out["value"]["value"] == pytest.approx(v["expected"]["total_m3"])


@needs_vectors
@pytest.mark.parametrize("name", ["real/multical21/76348799", "real/waterstarm/20096221"])
def test_an_all_zero_key_that_does_not_decrypt_is_no_key(name: str) -> None:
    v = VECTORS[name]
    out = _last({v["id"]: ZERO}, v)
    assert out["key"] == "no_key", out
    assert "NO KEY" in format_line(out) and "key OK" not in format_line(out)


@needs_vectors
def test_an_all_zero_key_that_decrypts_is_ok() -> None:
    v = VECTORS["real/apator162/88888888"]
    assert v["key"] == "0" * 32  # this meter's real key is all zero
    out = _last({v["id"]: ZERO}, v)
    assert (out["key"], out["driver"]) == ("ok", v["expected"]["meter"])


@needs_vectors
def test_no_key_at_all() -> None:
    v = VECTORS["real/multical21/76348799"]
    out = _last({}, v)
    assert (out["key"], out["encrypted"], "driver" in out) == ("no_key", True, False)


@needs_vectors
def test_summary_counts_frames_rssi_interval_and_copies() -> None:
    v = VECTORS["real/multical21/76348799"]
    original = bytes.fromhex(v["telegrams"][0])
    assert original[10] == 0x8D  # CI: ELL, its CC byte next
    copy = bytearray(original)
    copy[11] |= 0x10  # the ELL CC hop bit, as a repeater sets it
    check = Commissioner({v["id"]: bytes.fromhex(v["key"])})
    check.check(_frame(original.hex(), 100.0, -70.0))
    out = check.check(_frame(bytes(copy).hex(), 100.5, -90.0))
    check.check(_frame(original.hex(), 116.0, -74.0))
    check.check(_frame(original.hex(), 132.0, -72.0))
    assert out["repeated"] is True and "REPEATER COPY" in format_line(out)
    assert is_repeated(original) is False
    (summary,) = check.summaries()
    assert summary["frames"] == 4 and summary["repeated"] == 1
    assert summary["rssi_dbm"] == {"min": -90.0, "avg": -76.5, "max": -70.0}
    assert summary["interval_s"] == 16.0  # the copy is not a new transmission
    assert (summary["key"], summary["driver"]) == ("ok", "kamwater")
    (line,) = check.summary_lines()
    for part in ("76348799", "4 frames (1 via a repeater)", "-90/-76.5/-70", "every 16 s"):
        assert part in line, (part, line)


@needs_vectors
def test_one_frame_is_one_frame_in_the_summary() -> None:
    v = VECTORS["real/multical21/76348799"]
    check = Commissioner({v["id"]: bytes.fromhex(v["key"])})
    check.check(_frame(v["telegrams"][0], 100.0, -70.0))
    (line,) = check.summary_lines()
    assert "76348799 KAM" in line and ", 1 frame, " in line, line
