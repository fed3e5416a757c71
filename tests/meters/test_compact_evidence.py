"""The evidence for rejecting a compact frame whose full-frame CRC does not match the records
rebuilt from it (docs/meters.md, "Compact frames"): every real compact frame in the published
vectors, decoded with the formats the decoder knows or learns from the full frames around it,
rebuilds to records whose CRC equals the frame's own, except the Votten#2 frame. If a real
frame ever disagrees, the rule (and the rejection of Votten#2) must be revisited.
"""

from __future__ import annotations

from typing import Any

from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import FrameError, TelegramError
from gatewayd.wmbus.link import FrameFormat
from tests.conftest import OWN_VECTORS, load_vectors, shared_vector_files

# wmbusmeters' real compact frames that confirm the rule (vector names in the published set)
CONFIRMING = {
    "engelmann-faw/Wasserzaehler#2", "multical302/MyHeater#2", "multical302/MyHeaterMj#2",
    "multical403/My403Cooling#2", "multical602/Heato#2", "kamheat/kamheat_30_04#2",
    "kamheat/kamheat_30_0c#2", "kamheat/kamheat_34_0c#2", "kamheat/kamheat_39_04#2",
    "kamheat/kamheat_1c_04#2", "kampress/Pressing#2", "multical21/MyTapWater#2",
    "multical21/Vadden#2", "kamwater/MoreWater", "omnipower/myomnipower#2",
}  # fmt: skip
REJECTED = {"flowiq2200/Votten#2"}
# one more real compact frame in the shared corpus (wmbusmeters' tests/test_analyze.sh)
CONFIRMING_SHARED = {"real/multical21/76348799#2"}


def _outcomes(vectors: list[dict[str, Any]]) -> dict[str, str]:
    """Vector name -> "match" or the FCRC error, for every compact frame. One decoder learns
    formats from every full frame first, as a gateway that has heard all these meters."""
    real = [v for v in vectors if not v.get("source", "").startswith("generated")]
    decoder = Decoder()
    compact: list[tuple[str, bytes, bytes | None]] = []
    for v in real:
        key = bytes.fromhex(v["key"]) if v.get("key") else None
        for t in v["telegrams"]:
            frame = bytes.fromhex(t)
            try:
                if decoder.decode(frame, FrameFormat.CLEAN, key).compact:
                    compact.append((v["name"], frame, key))
            except TelegramError as err:
                if "compact frame" in str(err):
                    compact.append((v["name"], frame, key))
    out: dict[str, str] = {}
    for name, frame, key in compact:
        try:
            decoder.decode(frame, FrameFormat.CLEAN, key)
            out[name] = "match"
        except FrameError as err:
            out[name] = str(err)
    return out


def test_published_real_compact_frames_confirm_the_fcrc_rule() -> None:
    out = _outcomes(load_vectors([OWN_VECTORS / "published" / "wmbusmeters.jsonl"]))
    assert {n for n, o in out.items() if o == "match"} == CONFIRMING
    assert set(out) - CONFIRMING == REJECTED
    for name in REJECTED:
        assert "full-frame CRC 8054 does not match the rebuilt records (335D)" in out[name]


def test_shared_real_compact_frames_confirm_the_fcrc_rule() -> None:
    files = shared_vector_files()
    if not files:
        return  # a plain clone: the published test above covers the same frames but one
    out = _outcomes(load_vectors(files))
    assert {n for n, o in out.items() if o == "match"} == CONFIRMING | CONFIRMING_SHARED
    assert set(out) - CONFIRMING - CONFIRMING_SHARED == REJECTED
