"""Chaos for longer: kills, broker outages, radio unplugs and a nearly full disk, for N minutes.

    .venv/bin/python benchmarks/chaos.py [--minutes 5] [--rate 50] [--every 8] [--seed 1]  (root)

`gatewayd run --stdout` reads a FIFO radio (tests/sinks/feeder.py) at --rate telegrams/s, with
its state dir on a 24 MiB ext4 loop device (tests/loopdisk.py); a private mosquitto with
persistence and a persistent QoS 1 subscriber record what arrives. Every --every seconds one
event, in a shuffled cycle: the daemon SIGKILLed and restarted; the broker stopped (and started
at the next event); the radio unplugged (the FIFO closed) for 3 s; the disk filled to within
600 KiB of full for one period. At the end the feed stops, the broker is up, and the run waits
for delivery. Prints committed (readings the daemon printed: it prints only what is on disk)
against delivered. Figures only; never part of the tests.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.loopdisk import can_loop_mount, loop_ext4  # noqa: E402
from tests.sinks.feeder import FifoFeeder, GatewaydRun, daemon_config  # noqa: E402

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
GW = "chaos"


class Broker:
    def __init__(self, d: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        (d / "data").mkdir()
        self.conf = d / "mosquitto.conf"
        self.conf.write_text(
            f"user root\nlistener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {d / 'data'}/\n"
            "max_queued_messages 10000000\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stderr=subprocess.DEVNULL)
        for _ in range(250):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    @property
    def up(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Recorder:
    """A persistent-session QoS 1 subscriber counting each reading's deliveries."""

    def __init__(self, port: int) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self.counts: dict[int, int] = {}
        self._lock = threading.Lock()
        c = paho.Client(
            CallbackAPIVersion.VERSION2, client_id="chaos-recorder", clean_session=False
        )
        c.reconnect_delay_set(1, 2)
        c.on_connect = lambda cl, _u, _f, _rc, _p: cl.subscribe(f"metersync/{GW}/meters/#", 1)
        c.on_message = self._message
        c.connect("127.0.0.1", port)
        c.loop_start()
        self._client = c

    def _message(self, _c: Any, _u: Any, m: Any) -> None:
        import json

        n = round(json.loads(m.payload)["total_m3"] * 1000)
        with self._lock:
            self.counts[n] = self.counts.get(n, 0) + 1

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--rate", type=float, default=50.0, help="telegrams/s")
    ap.add_argument("--every", type=float, default=8.0, help="seconds between events")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not can_loop_mount():
        sys.exit("chaos.py needs root and loop devices")
    rnd = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        broker = Broker(tmp)
        broker.start()
        recorder = Recorder(broker.port)
        with loop_ext4(tmp / "disk.img", tmp / "mnt", size_mib=24) as mnt:
            feeder = FifoFeeder(tmp / "radio.fifo", rate=args.rate)
            cfg = daemon_config(
                tmp / "config.toml",
                gateway=GW,
                state=mnt / "state",
                fifo=feeder.fifo,
                port=broker.port,
            )
            printed: list[int] = []
            feeder.start()
            daemon = GatewaydRun(cfg, printed)
            events: dict[str, int] = {}
            filler = mnt / "filler"
            end = time.monotonic() + 60 * args.minutes
            cycle: list[str] = []
            while time.monotonic() < end:
                time.sleep(args.every)
                if filler.exists():
                    filler.unlink()
                if not broker.up:
                    broker.start()
                if not cycle:
                    cycle = ["kill", "broker", "unplug", "disk"]
                    rnd.shuffle(cycle)
                event = cycle.pop()
                events[event] = events.get(event, 0) + 1
                print(f"{time.strftime('%H:%M:%S')} {event}; {len(printed)} printed", flush=True)
                if event == "kill":
                    daemon.kill()
                    daemon = GatewaydRun(cfg, printed)
                elif event == "broker":
                    broker.stop()
                elif event == "unplug":
                    feeder.paused.set()
                    time.sleep(3.0)
                    feeder.paused.clear()
                elif event == "disk":
                    st = os.statvfs(mnt)
                    room = st.f_bavail * st.f_frsize - (600 << 10)
                    with filler.open("wb") as f:
                        f.truncate(0)
                        subprocess.run(
                            ["fallocate", "-l", str(max(room, 0)), str(filler)], check=False
                        )
            if filler.exists():
                filler.unlink()
            if not broker.up:
                broker.start()
            feeder.paused.set()
            time.sleep(1.0)
            committed = set(printed)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not committed <= set(recorder.counts):
                time.sleep(0.5)
            daemon.stop()
            feeder.stop()
        recorder.close()
        broker.stop()
    delivered = set(recorder.counts)
    missing = committed - delivered
    dups = sum(n - 1 for n in recorder.counts.values())
    print(
        f"{args.minutes:g} min at {args.rate:g}/s, events {events}: fed {feeder.written}, "
        f"committed (printed) {len(committed)}, delivered {len(committed & delivered)} of "
        f"those, missing {len(missing)}{' ' + str(sorted(missing)[:10]) if missing else ''}, "
        f"duplicates {dups}, delivered but never printed {len(delivered - committed)}",
        flush=True,
    )


if __name__ == "__main__":
    main()
