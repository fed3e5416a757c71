"""MQTT: readings/s from the replay radio to broker acknowledgement, arrival -> PUBACK, RSS.

    .venv/bin/python benchmarks/mqtt.py [--seconds 20] [--rates 100,1000] [--burst 20000]
                                        [--minutes 0] [--direct]

Starts a private Debian mosquitto (stock settings) on a free 127.0.0.1 port and, for each run,
the real daemon in-process (gatewayd.daemon.app.Daemon: radio supervisor -> Pipeline (dedup, decode,
driver, publish policy) -> sinks, with its status/save/watchdog tasks) with `[radio] kind =
"replay"` reading a file of hex telegrams. The telegrams are our own (wmbus.encode.kamstrup_c1,
Multical 21 full frames) from 200 meters, each with its own random key; every telegram's volume
is one litre above its meter's previous one, so the publish policy publishes every reading.
The only sink is the real MqttSink (settings as app.py builds them from [mqtt], plus its
on_delivered hook) behind a thin proxy that times publish() and notes which outbox rows each
reading made (one; two when an alarm changed).

Two harness hooks, both here, none in gatewayd/:
- rate: the daemon opens its radio with registry.open_radio(kind, device, mode, ...) and the
  config has no replay rate, so during a run registry.open_radio is that same function with
  rate=R added (R = 0: as fast as the loop takes them).
- arrival: RadioFrame.received_at (time.time() as the replay radio emits the frame, after its
  pacing), noted as the frame leaves the radio supervisor, just before Pipeline.handle().
  The replay starts once MQTT is connected (connecting is not in the figures), and its input
  ends only after every reading is acknowledged (the daemon's 5 s drain would cut a backlog).
Latency = time.time() in the PUBACK callback for the reading's outbox row - received_at.

Runs: 100/s and 1,000/s for --seconds each; a burst of --burst telegrams at rate 0 (readings/s
end to end); --minutes N: 100/s for N minutes, RSS at the start and every minute.
--direct: the older in-memory feed instead (no radio, no Pipeline: Decoder + build_reading +
MqttSink.publish() only), to see the sink's own share. Figures only; never part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import struct
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

from local_broker import pct, start_broker

from gatewayd.config.load import load_config
from gatewayd.daemon.app import Daemon
from gatewayd.daemon.notify import Notifier
from gatewayd.meters import MeterState, build_reading
from gatewayd.radios import registry
from gatewayd.radios.base import RadioFrame
from gatewayd.sinks.base import Reading
from gatewayd.sinks.mqtt import MqttSettings, MqttSink
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.encode import kamstrup_c1
from gatewayd.wmbus.link import FrameFormat

METERS = [f"{20406100 + i}" for i in range(200)]
KEYS = {m: os.urandom(16) for m in METERS}
DONE_TIMEOUT_S = 120.0


def telegram(k: int) -> bytes:
    """Telegram k: meter k % 200, volume rising by a litre per telegram of that meter."""
    mid = METERS[k % len(METERS)]
    recs = [
        ("02FF20", struct.pack("<H", 0)),
        ("0413", struct.pack("<I", 100_000 + k)),
        ("4413", struct.pack("<I", 90_000)),
        ("615B", struct.pack("<b", 9)),
        ("6167", struct.pack("<b", 21)),
    ]
    return kamstrup_c1(meter_id=mid, key=KEYS[mid], records=recs, acc=k & 0xFF, session=k * 16)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------- through the replay radio


class Probe:
    """Per-run measurements in arrays sized up front, so RSS shows the daemon, not these."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.arrival = 0.0  # received_at of the frame being handled
        self.row_arrival = array("d", bytes(8 * 2 * n))  # outbox seq s -> [s - 1]
        self.rows = 0
        self.latency = array("d", bytes(8 * 2 * n))
        self.stored = array("d", bytes(8 * 2 * n))  # arrival -> row committed (self-check)
        self.acked = 0
        self.last_ack = 0.0
        self.cost = array("d", bytes(8 * n))
        self.published = 0
        self.all_acked = asyncio.Event()
        self.input_done = False

    def delivered(self, seq: int, created: float) -> None:
        now = time.time()
        self.latency[self.acked] = now - self.row_arrival[seq - 1]
        self.stored[self.acked] = created - self.row_arrival[seq - 1]
        self.acked += 1
        self.last_ack = now
        if self.input_done and self.acked >= self.rows:
            self.all_acked.set()


class TimedSink:
    """The real MqttSink (a DurableSink: the daemon stages each reading, then commits batches
    with one fsync before any other sink sees them); stage() timed, each outbox row it adds
    tied to its frame."""

    def __init__(self, inner: MqttSink, probe: Probe) -> None:
        self.inner = inner
        self.name = inner.name
        self._p = probe

    async def start(self) -> None:
        await self.inner.start()

    def publish(self, reading: Reading, *, alarm_changed: bool = False) -> None:
        raise AssertionError("the daemon stages readings for a durable sink")

    def stage(self, reading: Reading, *, alarm_changed: bool = False) -> Any:
        p = self._p
        t = time.perf_counter()
        staged = self.inner.stage(reading, alarm_changed=alarm_changed)
        if p.published < p.n:
            p.cost[p.published] = time.perf_counter() - t
        p.published += 1
        for _ in range(1 + alarm_changed):  # ha_discovery is off: no config rows
            p.row_arrival[p.rows] = p.arrival
            p.rows += 1
        return staged

    async def store(self, staged: Sequence[Any]) -> None:
        await self.inner.store(staged)

    def store_soon(self, staged: Sequence[Any], done: Any) -> None:
        self.inner.store_soon(staged, done)

    def raw(self, frame: bytes, rssi_dbm: float | None) -> None:
        self.inner.raw(frame, rssi_dbm)

    def stats(self) -> dict[str, int]:
        return self.inner.stats()

    async def stop(self, timeout: float) -> None:
        await self.inner.stop(timeout)


class TappedRadio:
    """The supervisor open_radio() made, its run() noting received_at (see the docstring)."""

    def __init__(self, supervisor: Any, probe: Probe, sink: MqttSink) -> None:
        self._sup = supervisor
        self._p = probe
        self._sink = sink

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sup, name)

    async def run(self, deliver: Callable[[RadioFrame], None]) -> None:
        """The daemon's radio loop (the frames go from each read straight to `deliver`, the
        pipeline): the replay starts once MQTT is connected, and ends once every row is
        acknowledged."""
        while not self._sink.stats()["connected"]:
            await asyncio.sleep(0.01)
        p = self._p

        def tapped(rf: RadioFrame) -> None:
            p.arrival = rf.received_at
            deliver(rf)

        await self._sup.run(tapped)
        p.input_done = True
        if p.acked < p.rows:
            try:
                await asyncio.wait_for(p.all_acked.wait(), DONE_TIMEOUT_S)
            except TimeoutError:
                print(f"  ! only {p.acked} of {p.rows} rows acknowledged", file=sys.stderr)


def write_config(d: Path, port: int, telegrams: Path) -> Path:
    meters = "".join(f'[[meters]]\nid = "{m}"\nkey = "{KEYS[m].hex()}"\n\n' for m in METERS)
    cfg = d / "config.toml"
    cfg.write_text(
        f'[gateway]\nid = "bench"\nstate_dir = "{d / "state"}"\n\n'
        f'[radio]\nkind = "replay"\ndevice = "{telegrams}"\n\n'
        f'[log]\nlevel = "warning"\njournal = "no"\n\n'
        # Read by the harness for the sink's settings (see replay_run); the daemon gets no
        # [mqtt] so that it does not build a second sink.
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\noutbox_max = 1000000\n\n' + meters
    )
    return cfg


async def replay_run(
    d: Path, port: int, rate: float, n: int, label: str, rss_every_s: float = 0.0
) -> None:
    d.mkdir()
    telegrams = d / "telegrams.txt"
    with telegrams.open("w") as f:
        for k in range(n):
            f.write(f"{telegram(k).hex()};-70\n")
    full = load_config(write_config(d, port, telegrams), credentials_dir=None)
    m = full.mqtt
    assert m is not None
    config = dataclasses.replace(full, mqtt=None)
    probe = Probe(n)
    settings = MqttSettings(
        gateway_id=full.gateway.id,
        state_dir=full.gateway.state_dir,
        host=m.host,
        port=m.port,
        outbox_max=m.outbox_max,
        keepalive=m.keepalive,
        stats_interval_s=m.stats_interval_s,
    )

    def daemon_stats() -> dict[str, Any]:  # the stats topic as app.py wires it (daemon below)
        return daemon.stats_snapshot()

    mqtt = MqttSink(settings, daemon_stats, on_delivered=probe.delivered)
    daemon = Daemon(
        config, notifier=Notifier({}), extra_sinks=[TimedSink(mqtt, probe)], journal_sink=False
    )
    real_open = registry.open_radio

    def open_radio(kind: str, device: str, mode: Any = "c1", **kw: Any) -> Any:
        return TappedRadio(real_open(kind, device, mode, rate=rate, **kw), probe, mqtt)

    rss: list[tuple[float, float]] = []

    async def sample_rss() -> None:
        while not probe.arrival:
            await asyncio.sleep(0.01)
        t0 = time.monotonic()
        while True:
            rss.append((time.monotonic() - t0, rss_mib()))
            at = rss[-1][0] / 60
            print(f"  RSS at {at:4.1f} min: {rss[-1][1]:.2f} MiB", flush=True)
            await asyncio.sleep(rss_every_s)

    sampler = asyncio.create_task(sample_rss()) if rss_every_s else None
    with mock.patch.object(registry, "open_radio", open_radio):
        rc = await daemon.run()
    if sampler is not None:
        sampler.cancel()
        rss.append((0.0, rss_mib()))
        print(f"  RSS at the end (all acknowledged): {rss[-1][1]:.2f} MiB", flush=True)
    c = daemon.stats.counts
    first = probe.row_arrival[0]
    lat = probe.latency[: probe.acked]
    stored = probe.stored[: probe.acked]
    span = probe.last_ack - first
    print(
        f"{label}: rc {rc}; {c['frames']} frames, {c['decoded']} decoded, {c['published']} "
        f"published, {c['duplicates']} duplicates, {probe.rows} outbox rows, {probe.acked} "
        f"PUBACKs; {probe.acked / span:,.0f} readings/s end to end (first arrival -> last PUBACK "
        f"{span:.2f} s)\n    arrival->PUBACK p50 {pct(lat, 0.5):.2f} ms, p99 {pct(lat, 0.99):.2f}"
        f" ms, max {max(lat, default=0) * 1000:.1f} ms; publish() p50 "
        f"{pct(probe.cost[: probe.published], 0.5) * 1000:.0f} µs, p99 "
        f"{pct(probe.cost[: probe.published], 0.99) * 1000:.0f} µs; arrival->row committed "
        f"p50 {pct(stored, 0.5) * 1000:.0f} µs, range {min(stored, default=0) * 1e3:.2f}.."
        f"{max(stored, default=0) * 1e3:.2f} ms (a row tied to the wrong frame: < 0 or ~1/rate)",
        flush=True,
    )
    if rss:
        start, end = rss[0][1], rss[-1][1]
        later = f", {end - rss[1][1]:+.2f} MiB after the first minute" if len(rss) > 2 else ""
        print(
            f"    RSS MiB: start {start:.2f}, end {end:.2f}, max {max(r for _, r in rss):.2f}; "
            f"growth {end - start:+.2f} MiB over the run{later}",
            flush=True,
        )
    if rate == 100 and lat:
        verdict = "met" if pct(lat, 0.99) < 50 else "NOT met"
        print(f"    target p99 < 50 ms at 100/s: {verdict}", flush=True)


# ---------------------------------------------------------------- --direct (older, in memory)


class Direct:
    """Decoder + build_reading + MqttSink.publish(), frames from memory: row seq k+1 = frame k."""

    def __init__(self, port: int, d: Path, n: int) -> None:
        self.arrival = array("d", bytes(8 * n))
        self.latency: list[float] = []
        self.cost: list[float] = []
        self.done = asyncio.Event()
        self.n = n
        self.fed = 0
        settings = MqttSettings(
            gateway_id="bench", state_dir=d, host="127.0.0.1", port=port, outbox_max=1_000_000
        )
        self.sink = MqttSink(settings, on_delivered=self._delivered)
        self.decoder = Decoder(KEYS)
        self.state = MeterState()

    def _delivered(self, seq: int, _created: float) -> None:
        self.latency.append(time.perf_counter() - self.arrival[seq - 1])
        if len(self.latency) >= self.n:
            self.done.set()

    def feed(self, frame: bytes) -> None:
        self.arrival[self.fed] = time.perf_counter()
        self.fed += 1
        tg = self.decoder.decode(frame, FrameFormat.CLEAN)
        reading = build_reading(tg, state=self.state, rssi_dbm=-70.0)
        t = time.perf_counter()
        self.sink.publish(reading)
        self.cost.append(time.perf_counter() - t)


async def direct_run(d: Path, port: int, rate: float, n: int, label: str) -> None:
    frames = [telegram(k) for k in range(n)]
    run = Direct(port, d, n)
    await run.sink.start()
    while not run.sink.stats()["connected"]:
        await asyncio.sleep(0.01)
    t0 = time.perf_counter()
    for k, f in enumerate(frames):
        if rate > 0:
            delay = t0 + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        elif k % 200 == 199:
            await asyncio.sleep(0)  # let the sink's pump run, as the radio loop would
        run.feed(f)
    await asyncio.wait_for(run.done.wait(), DONE_TIMEOUT_S)
    total = time.perf_counter() - t0
    await run.sink.stop(5)
    lat = run.latency
    print(
        f"{label} (direct): {len(lat)} acked, {n / total:,.0f} readings/s end to end; "
        f"arrival->PUBACK p50 {pct(lat, 0.5):.2f} ms, p99 {pct(lat, 0.99):.2f} ms, "
        f"max {max(lat) * 1000:.1f} ms; publish() p50 {pct(run.cost, 0.5) * 1000:.0f} µs, "
        f"p99 {pct(run.cost, 0.99) * 1000:.0f} µs",
        flush=True,
    )


async def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each rate run")
    ap.add_argument("--burst", type=int, default=20_000, help="telegrams at rate 0 (0: skip)")
    ap.add_argument("--minutes", type=float, default=0.0, help="soak at 100/s, RSS every minute")
    ap.add_argument("--rates", default="100,1000", help="paced runs, readings/s ('' to skip)")
    ap.add_argument("--direct", action="store_true", help="in-memory feed, no radio/pipeline")
    ap.add_argument(
        "--broker-nodelay", action="store_true", help="mosquitto's set_tcp_nodelay true"
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        broker, port = start_broker(tmp, args.broker_nodelay)
        try:
            print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, mosquitto :{port}")
            runs = [(float(r), int(float(r) * args.seconds)) for r in args.rates.split(",") if r]
            runs += [(0.0, args.burst)] if args.burst else []
            for i, (rate, n) in enumerate(runs):
                label = f"{rate:.0f}/s x {args.seconds:g} s" if rate else f"burst of {n}"
                if args.direct:
                    await direct_run(tmp / f"run{i}", port, rate, n, label)
                else:
                    await replay_run(tmp / f"run{i}", port, rate, n, label)
            if args.minutes > 0:
                n = int(100 * 60 * args.minutes)
                label = f"soak 100/s x {args.minutes:g} min"
                await replay_run(tmp / "soak", port, 100.0, n, label, rss_every_s=60.0)
        finally:
            broker.terminate()
            broker.wait()


if __name__ == "__main__":
    asyncio.run(main())
