"""Benchmark `gatewayd decode` in batch mode: telegrams/s and peak RSS.

    .venv/bin/python benchmarks/decode.py [--count 100000] [--meters 20]

Generates unique encrypted Multical 21 telegrams with our own encoder (about one full frame in
eight, the rest compact, as the meters send them), writes them as hex lines (keys in a TOML
file) and as JSON lines (key on each line), and times one `gatewayd decode` process per input
on one core (taskset, when available). Figures only; never part of the test run.

When a `wmbusmeters` binary is on PATH (or given with --wmbusmeters), the same telegrams go to
`wmbusmeters --silent --format=json stdin:jsonl` as {"_":"decode","telegram":..,"key":..,
"driver":"multical21"} lines, pinned to the same core, and the ratio is printed. Readings are
counted in both outputs so that a run which decoded nothing cannot pass for a fast one. Rates
are given per wall-clock second and per CPU second of the process (the second is steadier on a
shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gatewayd.wmbus.encode import kamstrup_c1


def records(info: int, total: int, target: int, flow_t: int, amb: int) -> list[tuple[str, bytes]]:
    return [("02FF20", struct.pack("<H", info)), ("0413", struct.pack("<I", total)),
            ("4413", struct.pack("<I", target)), ("615B", struct.pack("<b", flow_t)),
            ("6167", struct.pack("<b", amb))]  # fmt: skip


def generate(count: int, meters: int, seed: int = 7) -> tuple[list[str], dict[str, bytes]]:
    rnd = random.Random(seed)
    keys = {f"{76300000 + i:08d}": rnd.randbytes(16) for i in range(meters)}
    totals = dict.fromkeys(keys, 100000)
    lines = []
    ids = list(keys)
    for n in range(count):
        mid = ids[n % meters]
        seq = n // meters
        totals[mid] += rnd.randrange(0, 30)
        recs = records(0, totals[mid], 100000, rnd.randrange(5, 20), 19)
        session = (seq << 4) | (seq & 15)
        t = kamstrup_c1(
            meter_id=mid, key=keys[mid], acc=seq & 0xFF, session=session, compact=seq % 8 != 0,
            records=recs,
        )  # fmt: skip
        lines.append(t.hex().upper())
    return lines, keys


# A forked child starts with its parent's RSS, and this process holds every telegram: measure
# the decoder's peak RSS from a small wrapper process instead.
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], check=True)\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(u.ru_utime + u.ru_stime, u.ru_maxrss, file=sys.stderr)\n"
)


def run(cmd: list[str], data: Path) -> tuple[float, float, int, int, int]:
    """(seconds, CPU seconds, peak RSS in kB, readings with a total_m3, error lines) of a run."""
    with data.open("rb") as stdin:
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], stdin=stdin,
                           capture_output=True, check=True)  # fmt: skip
        elapsed = time.perf_counter() - t0
    cpu, rss = float(p.stderr.split()[-2]), int(p.stderr.split()[-1])
    lines = p.stdout.splitlines()
    readings = sum(1 for line in lines if b'"total_m3"' in line)
    errors = sum(1 for line in lines if b'"error"' in line)
    return elapsed, cpu, rss, readings, errors


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--meters", type=int, default=20)
    ap.add_argument("--wmbusmeters", help="wmbusmeters binary (default: the one on PATH, if any)")
    a = ap.parse_args()
    reference = a.wmbusmeters or shutil.which("wmbusmeters")
    lines, keys = generate(a.count, a.meters)
    exe = shutil.which("gatewayd") or str(Path(sys.executable).with_name("gatewayd"))
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    with tempfile.TemporaryDirectory() as tmp:
        hexfile = Path(tmp, "hex.txt")
        hexfile.write_text("\n".join(lines) + "\n")
        keyfile = Path(tmp, "keys.toml")
        keyfile.write_text("[keys]\n" + "".join(f'"{k}" = "{v.hex()}"\n' for k, v in keys.items()))
        os.chmod(keyfile, 0o600)
        jsonfile = Path(tmp, "lines.jsonl")
        ids = list(keys)
        jsonfile.write_text("".join(
            json.dumps({"telegram": t, "key": keys[ids[i % a.meters]].hex()}) + "\n"
            for i, t in enumerate(lines)))  # fmt: skip
        runs = [
            ("hex lines + --keys", [*pin, exe, "decode", "--keys", str(keyfile)], hexfile),
            ("JSON lines with keys", [*pin, exe, "decode"], jsonfile),
        ]
        if reference:
            reffile = Path(tmp, "wmbusmeters.jsonl")
            reffile.write_text("".join(
                json.dumps({"_": "decode", "telegram": t, "key": keys[ids[i % a.meters]].hex(),
                            "driver": "multical21"}) + "\n"
                for i, t in enumerate(lines)))  # fmt: skip
            cmd = [*pin, reference, "--silent", "--format=json", "stdin:jsonl"]
            runs.append(("wmbusmeters stdin:jsonl", cmd, reffile))
        print(f"{a.count} telegrams, {a.meters} meters, 1 in 8 full frames, pinned: {bool(pin)}")
        rates: dict[str, tuple[float, float]] = {}
        for name, cmd, f in runs:
            elapsed, cpu, rss_kb, readings, errors = run(cmd, f)
            rates[name] = (a.count / elapsed, a.count / cpu)
            print(
                f"{name:24s} {a.count / elapsed:9,.0f} telegrams/s ({a.count / cpu:9,.0f} per "
                f"CPU-s)  {elapsed:6.2f} s  peak RSS {rss_kb / 1024:5.1f} MB  readings {readings}"
                f"  errors {errors}"
            )
        ref = rates.get("wmbusmeters stdin:jsonl")
        if ref:
            for name, (rate, per_cpu) in rates.items():
                if not name.startswith("wmbusmeters"):
                    print(f"ratio {name} / wmbusmeters: {rate / ref[0]:.2f}x wall-clock, "
                          f"{per_cpu / ref[1]:.2f}x per CPU second")  # fmt: skip
        else:
            print("wmbusmeters not on PATH: no side-by-side figure")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
