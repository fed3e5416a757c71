"""What the ble-client extra costs: bleak's import time and resident memory, in fresh interpreters.

    .venv/bin/python benchmarks/ble_client.py [--runs 10]

Each figure is measured in a new `python -c` process (nothing cached in memory but the OS page
cache): the import time of `bleak` (the package and its BlueZ backend, as `gatewayd ble read`
loads them), on its own and on top of dbus-fast (which the daemon's BLE sink has loaded
anyway), and VmRSS before and after. Figures only; nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

PROBE = """
import json, time
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
pre = {pre!r}
if pre:
    __import__(pre)
r0 = rss(); t0 = time.perf_counter()
import bleak
from bleak.backends.bluezdbus import client, scanner  # what BleakClient/BleakScanner load
t1 = time.perf_counter(); r1 = rss()
print(json.dumps({{"ms": (t1 - t0) * 1000, "rss0_kib": r0, "rss1_kib": r1}}))
"""


def measure(pre: str, runs: int) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(pre=pre)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        samples.append(json.loads(out))
    return {
        "ms_median": statistics.median(s["ms"] for s in samples),
        "ms_max": max(s["ms"] for s in samples),
        "rss_before_mib": statistics.median(s["rss0_kib"] for s in samples) / 1024,
        "rss_after_mib": statistics.median(s["rss1_kib"] for s in samples) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    from importlib.metadata import version

    import bleak  # noqa: F401 (fails early without the extra)

    python = sys.version.split()[0]
    print(f"bleak {version('bleak')}, dbus-fast {version('dbus-fast')}, python {python}")
    for label, pre in (("bleak alone", ""), ("bleak after dbus_fast", "dbus_fast.aio")):
        m = measure(pre, args.runs)
        print(
            f"{label:<22} import {m['ms_median']:6.1f} ms median ({m['ms_max']:.1f} max), "
            f"RSS {m['rss_before_mib']:.1f} -> {m['rss_after_mib']:.1f} MiB "
            f"(+{m['rss_after_mib'] - m['rss_before_mib']:.1f} MiB)"
        )


if __name__ == "__main__":
    main()
