"""Bytes written to the state dir's device per reading: what an SD card wears out on.

    .venv/bin/python benchmarks/disk.py [--rates 1,100] [--seconds 120,30]   (root)

For each rate: a fresh ext4 file system on a loop device (tests/loopdisk.py) holds the state
dir; a private mosquitto on 127.0.0.1; `gatewayd run --stdout` as it runs in production
(rtl_wmbus FIFO radio fed by tests/sinks/feeder.py at the rate, one MULTICAL 21 whose every
telegram is a new reading, MQTT with the outbox, state saved every 30 s). Counting starts once
the daemon has printed its first 5 readings (start-up excluded) and ends after the feed stops,
every reading is acknowledged (outbox empty) and `syncfs` has written back what the kernel
still held, so WAL appends, DELETEs, checkpoints, state saves and ext4's journal all count.
Figures only; never part of the tests.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_broker import start_broker  # noqa: E402

from tests.daemon.harness import KEY, METER  # noqa: E402
from tests.loopdisk import can_loop_mount, device_of, loop_ext4, sectors_written  # noqa: E402
from tests.sinks.feeder import FifoFeeder  # noqa: E402


def syncfs(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        subprocess.run(["sync", "-f", str(path)], check=True)
    finally:
        os.close(fd)


def queued(state: Path) -> int:
    import sqlite3

    db = sqlite3.connect(f"file:{state / 'mqtt-outbox.sqlite3'}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    finally:
        db.close()


def run(tmp: Path, port: int, rate: float, seconds: float) -> None:
    d = tmp / f"rate{rate:g}"
    d.mkdir()
    with loop_ext4(d / "disk.img", d / "mnt", size_mib=64) as mnt:
        dev = device_of(mnt)
        assert dev is not None
        state = mnt / "state"
        feeder = FifoFeeder(d / "radio.fifo", rate=rate)
        cfg = d / "config.toml"
        cfg.write_text(
            f'[gateway]\nid = "disk"\nstate_dir = "{state}"\n\n'
            f'[radio]\nkind = "rtlwmbus"\ndevice = "{feeder.fifo}"\n\n'
            f'[[meters]]\nid = "{METER}"\nkey = "{KEY.hex()}"\n\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\n\n[log]\nlevel = "warning"\n'
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "gatewayd", "run", "--config", str(cfg), "--stdout"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        printed = [0]

        def count() -> None:
            assert proc.stdout is not None
            for _line in proc.stdout:
                printed[0] += 1

        threading.Thread(target=count, daemon=True).start()
        feeder.start()
        while printed[0] < 5:
            time.sleep(0.01)
        syncfs(mnt)
        s0, n0, t0 = sectors_written(dev), printed[0], time.monotonic()
        time.sleep(seconds)
        feeder.paused.set()
        time.sleep(1.5)
        while queued(state):
            time.sleep(0.1)
        time.sleep(1.5)  # the DELETEs of the last acknowledgements
        n1 = printed[0]
        syncfs(mnt)
        s1, t1 = sectors_written(dev), time.monotonic()
        wal = state / "mqtt-outbox.sqlite3-wal"
        wal_size = wal.stat().st_size if wal.exists() else 0
        proc.terminate()
        proc.wait(timeout=10)
        feeder.stop()
    n = n1 - n0
    written = (s1 - s0) * 512
    print(
        f"{rate:g} readings/s for {t1 - t0:.0f} s: {n} readings, {written / 1024:,.0f} KiB "
        f"written to {dev} -> {written / max(n, 1) / 1024:.2f} KiB per reading "
        f"({written / (t1 - t0) / 1024:.1f} KiB/s); WAL file {wal_size / 1024:.0f} KiB",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rates", default="1,100", help="readings/s, one run each")
    ap.add_argument("--seconds", default="120,30", help="length of each run (one per rate)")
    args = ap.parse_args()
    if not can_loop_mount():
        sys.exit("disk.py needs root and loop devices")
    rates = [float(r) for r in args.rates.split(",")]
    secs = [float(s) for s in args.seconds.split(",")]
    secs += [secs[-1]] * (len(rates) - len(secs))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, ext4 on a loop device")
    with tempfile.TemporaryDirectory() as t:
        broker, port = start_broker(Path(t))
        try:
            for rate, s in zip(rates, secs, strict=True):
                run(Path(t), port, rate, s)
        finally:
            broker.terminate()
            broker.wait()


if __name__ == "__main__":
    main()
