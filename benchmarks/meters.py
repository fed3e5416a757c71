"""Throughput of the meter stage alone (driver + reading + JSON) and of decode + reading.

Prints figures; never pass/fail. Uses the shared corpus when present, else the K1 worked example.
    .venv/bin/python benchmarks/meters.py
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

from gatewayd.meters import MeterState, build_reading
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import TelegramError

SHARED = Path(
    os.environ.get(
        "GATEWAYD_SHARED_VECTORS", Path(__file__).resolve().parents[2] / "shared" / "vectors"
    )
)

K1 = "2A442D2C998734761B168D2091D37CAC21576C7802FF207100041308190000441308190000615B7F616713"


def main() -> None:
    decoder = Decoder()
    frames: list[tuple[bytes, bytes | None]] = []
    vectors = [
        json.loads(ln) for f in sorted(SHARED.glob("*.jsonl")) for ln in f.open() if ln.strip()
    ]
    for v in vectors:
        key = bytes.fromhex(v["key"]) if v.get("key") else None
        frames += [(bytes.fromhex(t), key) for t in v["telegrams"] if not t.startswith("68")]
    if not frames:
        frames = [(bytes.fromhex(K1), None)]
    telegrams = []
    for f, k in frames:
        with contextlib.suppress(TelegramError):
            telegrams.append(decoder.decode(f, key=k))
    state = MeterState()
    rounds = max(1, 50_000 // len(telegrams))
    t0 = time.perf_counter()
    for _ in range(rounds):
        for t in telegrams:
            build_reading(t, state=state, received_at=1767225600.0)
    t1 = time.perf_counter()
    for _ in range(rounds):
        for t in telegrams:
            build_reading(t, state=state, received_at=1767225600.0).json_bytes()
    t2 = time.perf_counter()
    for _ in range(rounds):
        for f, k in frames:
            with contextlib.suppress(TelegramError):
                build_reading(decoder.decode(f, key=k), state=state)
    t3 = time.perf_counter()
    n = rounds * len(telegrams)
    print(f"{len(telegrams)} decoded telegrams x {rounds} rounds")
    print(f"build_reading:              {n / (t1 - t0):9.0f} /s")
    print(f"build_reading + json.dumps: {n / (t2 - t1):9.0f} /s")
    print(f"decode + build_reading:     {rounds * len(frames) / (t3 - t2):9.0f} /s")


if __name__ == "__main__":
    main()
