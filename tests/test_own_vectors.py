"""The project's own vectors (tests/vectors/*.jsonl): always run, also in a user's plain clone.

They are our encoder's telegrams with our own keys plus OMS specification examples; their
expected values were written from the inputs (see tests/vectors/generate.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from gatewayd.meters.reading import MeterState, build_reading
from gatewayd.wmbus.decode import Decoder
from tests.conftest import OWN_VECTORS, REPO, load_vectors

VECTORS = load_vectors(sorted(OWN_VECTORS.glob("*.jsonl")))


def check(v: dict[str, Any], got: dict[str, Any]) -> None:
    assert "error" not in got, got["error"]
    for field, want in v["expected"].items():
        assert got.get(field) == want, f"{field}: got {got.get(field)!r}, want {want!r}"
    for rec in v.get("records", []):
        assert any(all(r.get(k) == x for k, x in rec.items()) for r in got["records"]), (
            f"no record matches {rec}"
        )


def test_there_are_own_vectors() -> None:
    assert len(VECTORS) >= 8


def test_generator_reproduces_the_committed_file() -> None:
    out = subprocess.run([sys.executable, str(OWN_VECTORS / "generate.py")], capture_output=True,
                         text=True, check=True, cwd=REPO).stdout  # fmt: skip
    assert out == (OWN_VECTORS / "own.jsonl").read_text()


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_own_vector_through_the_api(v: dict[str, Any]) -> None:
    decoder = Decoder(keys={v["id"]: bytes.fromhex(v["key"])})
    state = MeterState()
    reading: dict[str, Any] = {}
    for hexstr in v["telegrams"]:
        telegram = decoder.decode(bytes.fromhex(hexstr))
        reading = build_reading(telegram, driver=v["driver"], state=state).to_dict()
    check(v, reading)


def test_own_vectors_through_the_cli_batch_mode() -> None:
    lines = [json.dumps({"telegram": t, "key": v["key"]}) for v in VECTORS for t in v["telegrams"]]
    p = subprocess.run([sys.executable, "-m", "gatewayd", "decode"], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, check=True)  # fmt: skip
    outs = p.stdout.splitlines()
    assert len(outs) == len(lines)
    i = -1
    for v in VECTORS:
        i += len(v["telegrams"])
        check(v, json.loads(outs[i]))
