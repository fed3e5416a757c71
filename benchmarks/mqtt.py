"""MQTT sink: readings/s to broker acknowledgement, latency frame arrival -> PUBACK, RSS.

    .venv/bin/python benchmarks/mqtt.py [--seconds 20] [--minutes 0] [--burst 20000]

Starts a private Debian mosquitto on a free 127.0.0.1 port. Frames are encrypted Multical 21
telegrams (full frames, 20 meters, every one distinct) made with our own encoder and held in
memory: there is no serial/pty hop here. Each frame "arrives" when it is handed to the real
Decoder; the reading from the real driver (build_reading) goes to MqttSink.publish(); the
latency is from that arrival to the PUBACK of its outbox row (MqttSink's on_delivered hook).

- rate runs: 100/s and 1,000/s for --seconds each: p50/p99/max latency, and the cost of
  publish() itself on the event loop (the sqlite insert).
- burst: --burst frames as fast as the loop takes them: readings/s to the last PUBACK.
- soak (--minutes N): 100/s for N minutes, RSS sampled every 10 s (the issue asks for 10).
Figures only; never part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gatewayd.meters import MeterState, build_reading
from gatewayd.sinks.mqtt import MqttSettings, MqttSink
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.encode import kamstrup_c1
from gatewayd.wmbus.link import FrameFormat

KEY = bytes.fromhex("D3E0C0DE00000000000000000000A021")
METERS = [f"{20406100 + i}" for i in range(20)]


def frames(n: int, start: int = 0) -> list[bytes]:
    out = []
    for k in range(start, start + n):
        mid = METERS[k % len(METERS)]
        recs = [
            ("02FF20", struct.pack("<H", 0)),
            ("0413", struct.pack("<I", 100_000 + k)),
            ("4413", struct.pack("<I", 90_000)),
            ("615B", struct.pack("<b", 9)),
            ("6167", struct.pack("<b", 21)),
        ]
        out.append(kamstrup_c1(meter_id=mid, key=KEY, records=recs, acc=k & 0xFF, session=k * 16))
    return out


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_broker(d: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = d / "mosquitto.conf"
    conf.write_text(
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous true\n"
        "max_queued_messages 1000000\n"
    )
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, port
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("mosquitto did not start")


class Run:
    """One sink on a fresh outbox: row seq k+1 is frame k (one row per reading)."""

    def __init__(self, port: int, d: Path) -> None:
        self.arrival: list[float] = []
        self.latency: list[float] = []
        self.publish_cost: list[float] = []
        self.done = asyncio.Event()
        self.expect = 0
        settings = MqttSettings(
            gateway_id="bench", state_dir=d, host="127.0.0.1", port=port, outbox_max=1_000_000
        )
        self.sink = MqttSink(settings, on_delivered=self._delivered)
        self.decoder = Decoder(dict.fromkeys(METERS, KEY))
        self.state = MeterState()

    def _delivered(self, seq: int, _created: float) -> None:
        self.latency.append(time.perf_counter() - self.arrival[seq - 1])
        if len(self.latency) >= self.expect:
            self.done.set()

    def feed(self, frame: bytes) -> None:
        self.arrival.append(time.perf_counter())
        tg = self.decoder.decode(frame, FrameFormat.CLEAN)
        reading = build_reading(tg, state=self.state, rssi_dbm=-70.0)
        t = time.perf_counter()
        self.sink.publish(reading)
        self.publish_cost.append(time.perf_counter() - t)


def pct(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * p))] * 1000


async def paced(port: int, d: Path, rate: float, seconds: float, soak: bool = False) -> None:
    n = int(rate * seconds)
    batch = frames(min(n, 50_000))
    run = Run(port, d)
    run.expect = n
    await run.sink.start()
    await asyncio.sleep(0.5)  # connected
    t0 = time.perf_counter()
    rss: list[tuple[float, float]] = [(0.0, rss_mib())]
    for k in range(n):
        delay = t0 + k / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        run.feed(batch[k % len(batch)] if k < len(batch) else _fresh(batch, k))
        if soak and (time.perf_counter() - t0) - rss[-1][0] >= 10:
            rss.append((time.perf_counter() - t0, rss_mib()))
    await asyncio.wait_for(run.done.wait(), 60)
    await run.sink.stop(5)
    lat = run.latency
    print(
        f"{rate:>6.0f}/s for {seconds:.0f} s: {len(lat)} acked; arrival->PUBACK p50 "
        f"{pct(lat, 0.5):.2f} ms, p99 {pct(lat, 0.99):.2f} ms, max {max(lat) * 1000:.1f} ms; "
        f"publish() p50 {pct(run.publish_cost, 0.5) * 1000:.0f} µs, "
        f"p99 {pct(run.publish_cost, 0.99) * 1000:.0f} µs"
    )
    if soak:
        rss.append((time.perf_counter() - t0, rss_mib()))
        first = rss[1][1] if len(rss) > 2 else rss[0][1]
        print(
            f"RSS MiB over {seconds / 60:.1f} min: start {rss[0][1]:.1f}, after 10 s {first:.1f}, "
            f"end {rss[-1][1]:.1f}, max {max(r for _, r in rss):.1f}; samples: "
            + " ".join(f"{r:.1f}" for _, r in rss)
        )


def _fresh(batch: list[bytes], k: int) -> bytes:
    # Past the pre-built batch (long soaks) make frames as we go; same meters, new values.
    return frames(1, k)[0]


async def burst(port: int, d: Path, n: int) -> None:
    batch = frames(n)
    run = Run(port, d)
    run.expect = n
    await run.sink.start()
    await asyncio.sleep(0.5)
    t0 = time.perf_counter()
    for k, f in enumerate(batch):
        run.feed(f)
        if k % 200 == 199:
            await asyncio.sleep(0)  # let the sink's pump run, as the radio loop would
    fed = time.perf_counter() - t0
    await asyncio.wait_for(run.done.wait(), 120)
    total = time.perf_counter() - t0
    await run.sink.stop(5)
    print(
        f"burst of {n}: fed (decode+driver+outbox) at {n / fed:,.0f}/s; "
        f"all PUBACKed after {total:.2f} s = {n / total:,.0f} readings/s end to end"
    )


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each rate run")
    ap.add_argument("--burst", type=int, default=20_000, help="frames in the burst run")
    ap.add_argument("--minutes", type=float, default=0.0, help="soak at 100/s with RSS samples")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker, port = start_broker(Path(tmp))
        try:
            print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, mosquitto :{port}")
            for i, rate in enumerate((100.0, 1000.0)):
                await paced(port, Path(tmp) / f"rate{i}", rate, args.seconds)
            await burst(port, Path(tmp) / "burst", args.burst)
            if args.minutes > 0:
                await paced(port, Path(tmp) / "soak", 100.0, args.minutes * 60, soak=True)
        finally:
            broker.terminate()
            broker.wait()


if __name__ == "__main__":
    asyncio.run(main())
