"""In-process CPU per telegram of `Pipeline.handle`, with and without the reading's JSON.

    .venv/bin/python benchmarks/handle.py [--frames 4000] [--rounds 7] [--profile]

The daemon's per-telegram path without its I/O: a Pipeline built from a config with the
pipeline benchmark's meter and key (tests/sinks/feeder.py), fed RadioFrames of MULTICAL 21
telegrams (AES, every one a new reading, as benchmarks/pipeline.py sends them) and, for the
second figure, each published reading's JSON encoded as the MQTT sink's stage() does. CPU time
(time.process_time) per frame, best and median of the rounds (one Pipeline, its duplicate memory
emptied each round so that every frame is new again). Figures only; never part of the tests.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gatewayd.config.load import parse_config  # noqa: E402
from gatewayd.daemon.pipeline import Pipeline  # noqa: E402
from gatewayd.daemon.stats import Stats  # noqa: E402
from gatewayd.radios.base import LinkMode, RadioFrame  # noqa: E402
from gatewayd.wmbus.dedup import Dedup  # noqa: E402
from gatewayd.wmbus.link import FrameFormat  # noqa: E402
from tests.daemon.harness import KEY, METER, mc21  # noqa: E402

CONFIG = f"""
[gateway]
id = "bench"
state_dir = "/nonexistent"

[radio]
kind = "rtlwmbus"
device = "/nonexistent"

[[meters]]
id = "{METER}"
key = "{KEY.hex().upper()}"

[log]
level = "warning"
journal = "no"
"""


def frames(n: int) -> list[RadioFrame]:
    now = time.time()
    return [
        RadioFrame(mc21(k % 256, 1000 + k), -70.0, LinkMode.C1, FrameFormat.CLEAN, now + k / 100)
        for k in range(n)
    ]


def pipeline() -> Pipeline:
    return Pipeline(parse_config(tomllib.loads(CONFIG), Path("/x/config.toml")), stats=Stats())


def one_round(pipe: Pipeline, rfs: list[RadioFrame], json: bool) -> float:
    d = pipe.dedup  # a fresh memory: every frame is new again (the caches stay, as in the daemon)
    pipe.dedup = Dedup(d.window_s, max_entries=d.max_entries)
    before = pipe.stats.counts["published"]
    handle = pipe.handle
    gc.collect()
    t0 = time.process_time()
    if json:
        for rf in rfs:
            r = handle(rf)
            if r is not None:
                r.json_bytes()
    else:
        for rf in rfs:
            handle(rf)
    spent = time.process_time() - t0
    assert pipe.stats.counts["published"] - before == len(rfs), pipe.stats.counts
    return spent / len(rfs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=4000)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--profile", action="store_true", help="cProfile one round with JSON")
    a = p.parse_args()
    rfs = frames(a.frames)
    pipe = pipeline()
    one_round(pipe, rfs[:200], True)  # warm: driver import, caches
    if a.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile(time.process_time)
        prof.runcall(one_round, pipe, rfs, True)
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        return
    res: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(a.rounds):
        for json in (False, True):  # interleaved
            res[json].append(one_round(pipe, rfs, json))
    for json in (False, True):
        us = [x * 1e6 for x in res[json]]
        what = "handle + json_bytes" if json else "handle            "
        print(f"{what}: best {min(us):6.1f} us/frame, median {statistics.median(us):6.1f}")


if __name__ == "__main__":
    main()
