"""8-byte DES keys (TPL security mode 2) wherever a key is accepted: the `Key` type, keys.toml
and config.toml, `gatewayd decode --key` and its JSON-lines batch input, `gatewayd listen`. The
expected values are wmbusmeters' published ones for its ActisLink test telegram, read from the
vectors file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatewayd.commands.commission import Commissioner
from gatewayd.config.keysfile import parse_keys
from gatewayd.config.reader import ConfigError
from gatewayd.config.secrets import MASK, Key, scrub_secrets
from gatewayd.radios.base import LinkMode, RadioFrame
from gatewayd.wmbus.link import FrameFormat
from tests.conftest import OWN_VECTORS, load_vectors


def actislink() -> dict[str, Any]:
    vectors = load_vectors([OWN_VECTORS / "published" / "wmbusmeters.jsonl"])
    (v,) = [v for v in vectors if v["driver"] == "actislink"]
    assert len(v["key"]) == 16  # the published key is a DES key
    return v


V = actislink()
TELEGRAM: str = V["telegrams"][0]
DES_HEX: str = V["key"]
EXPECTED: dict[str, Any] = V["expected"]
# A Kamstrup MULTICAL 21 (AES-128, ELL) telegram and its key, from test_cmd_decode.
AES_TELEGRAM = (
    "2A442D2C998734761B168D2091D37CAC21E1D68CDAFFCD3DC452BD802913FF7B1706CA9E355D6C2701CC24"
)


def gw(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gatewayd", "decode", *args], input=stdin,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def published(reading: dict[str, Any]) -> dict[str, Any]:
    return {k: reading[k] for k in EXPECTED if k != "id"} | {"id": reading["id"]}


def test_a_des_key_is_typed_and_masked() -> None:
    key = Key.from_hex("A1B2C3D4E5F60718")
    assert key.cipher == "DES" and len(key.raw) == 8
    assert Key(bytes(range(16))).cipher == "AES-128"
    assert "a1b2c3d4e5f60718" not in repr(key).lower()
    for form in ("a1b2c3d4e5f60718", "A1B2C3D4E5F60718"):
        assert scrub_secrets(f"key={form}, more") == f"key={MASK}, more"
        assert scrub_secrets(f"ff{form}00") == f"ff{MASK}00"  # inside a longer hex run
    assert scrub_secrets("a1b2c3d4e5f60719") == "a1b2c3d4e5f60719"  # another value: kept
    with pytest.raises(ValueError, match=r"16 bytes .* or 8 bytes"):
        Key(bytes(12))


def test_keys_toml_takes_16_hex_digits_and_names_what_it_expects() -> None:
    keys = parse_keys({"keys": {"00000001": DES_HEX, "76348799": "00" * 16}}, "k.toml")
    assert keys["00000001"].cipher == "DES" and keys["00000001"].raw == bytes.fromhex(DES_HEX)
    assert keys["76348799"].cipher == "AES-128"
    bad = "0102030405060708090A"  # 20 digits: neither
    with pytest.raises(ConfigError) as info:
        parse_keys({"keys": {"00000001": bad}}, "k.toml")
    msg = str(info.value)
    assert msg == (
        "k.toml: keys.00000001: expected 32 hex digits (AES-128) or 16 (DES), found 20 characters"
    )
    assert bad not in msg


def test_decode_with_a_des_key_gives_the_published_values() -> None:
    p = gw(TELEGRAM, "--key", DES_HEX)
    assert p.returncode == 0, p.stderr
    reading = json.loads(p.stdout)
    assert published(reading) == EXPECTED | {"id": "00000001"}  # the vector says ANYID
    assert "error" not in reading


def test_decode_batch_lines_with_des_and_aes_keys() -> None:
    lines = [
        {"telegram": TELEGRAM, "key": DES_HEX},
        {"telegram": AES_TELEGRAM, "key": "28F64A24988064A079AA2C807D6102AE"},
        {"telegram": AES_TELEGRAM, "key": DES_HEX},  # an AES meter given a DES key
        {"telegram": TELEGRAM, "key": "28F64A24988064A079AA2C807D6102AE"},  # and the reverse
        {"telegram": TELEGRAM, "key": DES_HEX[:14]},  # neither length
    ]
    p = gw(stdin="".join(json.dumps(x) + "\n" for x in lines))
    assert p.returncode == 0, p.stderr
    out = [json.loads(x) for x in p.stdout.splitlines()]
    assert len(out) == 5
    assert published(out[0]) == EXPECTED | {"id": "00000001"}
    assert out[1]["id"] == "76348799" and out[1]["total_m3"] == 6.408
    assert out[2]["id"] == "76348799"
    assert "is a DES key" in out[2]["error"] and "needs an AES-128 key" in out[2]["error"]
    assert out[3]["id"] == "00000001"
    assert "is an AES-128 key" in out[3]["error"] and "needs a DES key" in out[3]["error"]
    assert out[4]["id"] == "00000001"
    assert "expected 32 hex digits (AES-128) or 16 (DES), found 14 characters" in out[4]["error"]
    assert DES_HEX not in p.stdout.replace(TELEGRAM, "")


def test_decode_keys_file_with_a_des_key(tmp_path: Path) -> None:
    keys = tmp_path / "keys.toml"
    keys.write_text(f'[keys]\n00000001 = "{DES_HEX}"\n')
    p = gw(TELEGRAM, "--keys", str(keys))
    assert p.returncode == 0, p.stderr
    assert published(json.loads(p.stdout)) == EXPECTED | {"id": "00000001"}


def test_decode_rejects_a_key_of_neither_length_without_echoing_it() -> None:
    p = gw(TELEGRAM, "--key", "0102030405060708AB")
    assert p.returncode == 2
    assert "--key: expected 32 hex digits (AES-128) or 16 (DES), found 18 characters" in p.stderr
    assert "0102030405060708AB" not in p.stderr


def _listen(keys: dict[str, bytes]) -> dict[str, Any]:
    frame = RadioFrame(bytes.fromhex(TELEGRAM), -70.0, LinkMode.T1, FrameFormat.CLEAN, 0.0, "t")
    return Commissioner(keys).check(frame)


def test_listen_opens_a_des_meter_with_its_des_key() -> None:
    des = bytes.fromhex(DES_HEX)
    out = _listen({"00000001": des})
    assert out["key"] == "ok" and out["driver"] == EXPECTED["meter"]
    assert out["value"]["field"] == "total_m3" and out["value"]["value"] == EXPECTED["total_m3"]
    # an AES key of its own does not open it; another meter's DES key does, and is named
    out = _listen({"00000001": bytes(range(16)), "12345678": des})
    assert out["key"] == "wrong_key" and out["key_of"] == "12345678"
    assert _listen({"00000001": bytes(8)})["key"] == "no_key"  # an all-zero placeholder
