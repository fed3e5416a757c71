"""CPU of the path from an accepted reading to its PUBACK: the hand-off, the outbox, paho.

    .venv/bin/python benchmarks/sinkpath.py [--rate 100] [--seconds 10] [--protocol 3.1.1]
                                            [--messages 40000] [--only path|publish|commit]

path: readings decoded beforehand (their JSON too) are handed to the daemon's Handoff at
--rate, one loop timer each as a radio's frames come, with the real MqttSink behind it (group
commit in the outbox's thread, fsynced, in a temporary directory) and a private mosquitto on
127.0.0.1. CPU per reading of the loop thread (time.thread_time) and of the process
(time.process_time), from the 21st reading until every one is acknowledged; it includes the
timer that stands for the radio.
publish: PahoClient on a socketpair, --messages QoS 1 PUBLISHes in batches of 2 and 8, the
broker side answered by hand: CPU per message of publish + write, and of reading the PUBACKs,
through paho's publish() and through publish_qos1() (what the outbox's rows take).
commit: Outbox commits in the thread (3 rows each, the previous 3 deleted with it), awaited
one after the other: CPU per commit, the fsync included. Figures only; never part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_broker import start_broker  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion  # noqa: E402

from gatewayd.config.sections import MqttProtocol  # noqa: E402
from gatewayd.daemon.handoff import Handoff  # noqa: E402
from gatewayd.meters.model import from_dict  # noqa: E402
from gatewayd.sinks.mqtt import MqttSettings, MqttSink  # noqa: E402
from gatewayd.sinks.mqtt.paho_client import PahoClient  # noqa: E402
from gatewayd.sinks.outbox import Outbox  # noqa: E402
from tests.sinks.mqtt_readings import numbered  # noqa: E402

WARM = 20


async def path(port: int, d: Path, rate: float, seconds: float, protocol: MqttProtocol) -> None:
    n = int(rate * seconds)
    acked = 0
    done = asyncio.Event()

    def delivered(_seq: int, _created: float) -> None:
        nonlocal acked
        acked += 1
        if acked >= WARM + n:
            done.set()

    s = MqttSettings(
        gateway_id="bench", state_dir=d / "state", host="127.0.0.1", port=port, protocol=protocol
    )
    sink = MqttSink(s, on_delivered=delivered)
    await sink.start()
    handoff = Handoff([sink])
    readings = [from_dict(numbered(i)) for i in range(WARM + n)]
    for r in readings:
        r.json_bytes()  # the decode side's work, done once for all sinks
    loop = asyncio.get_running_loop()
    for r in readings[:WARM]:
        handoff.publish(r, False)
        await asyncio.sleep(1 / rate)
    while acked < WARM:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)
    t0, p0 = time.thread_time(), time.process_time()
    start = loop.time()
    feed = iter(enumerate(readings[WARM:]))

    def next_reading() -> None:
        item = next(feed, None)
        if item is not None:
            handoff.publish(item[1], False)
            loop.call_at(start + (item[0] + 1) / rate, next_reading)

    loop.call_at(start, next_reading)
    await asyncio.wait_for(done.wait(), seconds + 30)
    t1, p1 = time.thread_time(), time.process_time()
    commits = sink._outbox.commits
    await sink.stop(2.0)
    print(
        f"path, {rate:g}/s x {seconds:g} s, MQTT {protocol}: loop thread "
        f"{(t1 - t0) / n * 1e6:.1f} us a reading, process {(p1 - p0) / n * 1e6:.1f} us "
        f"({commits} commits in all)",
        flush=True,
    )


def publish(messages: int, batch: int, v5: bool, rows: bool) -> None:
    payload = b'{"id":"76348799","meter":"multical21","total_m3":6.408}' * 8
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    proto = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
    c = PahoClient(CallbackAPIVersion.VERSION2, protocol=proto)
    c.max_inflight_messages_set(64)
    c._sock = ours
    c.on_socket_register_write = lambda _c, _u, _s: None
    acked: list[int] = []
    c.on_publish = lambda _c, _u, mid, _rc, _p: acked.append(mid)
    c.on_row_ack = lambda mid, _ok: acked.append(mid)
    t_pub = t_ack = 0.0
    with ours, broker:
        for _ in range(messages // batch):
            t0 = time.process_time()
            mids = []
            for j in range(batch):
                topic = f"metersync/bench/meters/7634879{j}"
                if rows:
                    mid = c.publish_qos1(topic, payload, True)
                    assert mid is not None
                else:
                    mid = c.publish(topic, payload, qos=1, retain=True).mid
                mids.append(mid)
            c.loop_write()
            t1 = time.process_time()
            broker.recv(1 << 20)
            broker.sendall(b"".join(b"\x40\x02" + m.to_bytes(2, "big") for m in mids))
            t2 = time.process_time()
            c.loop_read()
            while c.unread:
                c.loop_read()
            t_pub += t1 - t0
            t_ack += time.process_time() - t2
    assert len(acked) == messages // batch * batch
    print(
        f"publish, {'publish_qos1()' if rows else 'paho publish()'}, MQTT {'5' if v5 else '3.1.1'}"
        f", batches of {batch}: publish + write {t_pub / messages * 1e6:.2f} us a message, "
        f"PUBACK read + callback {t_ack / messages * 1e6:.2f} us",
        flush=True,
    )


async def commit(d: Path, commits: int) -> None:
    payload = b'{"id":"76348799","meter":"multical21","total_m3":6.408,"target_m3":6.408}' * 5
    box = Outbox(d / "outbox.sqlite3", 100_000)
    prev: list[int] = []
    t0, w0 = time.process_time(), time.perf_counter()
    for _ in range(commits):
        seqs = await box.commit([(f"metersync/bench/meters/{j}", payload, True) for j in range(3)])
        box.forget(prev)
        prev = seqs
    t1, w1 = time.process_time(), time.perf_counter()
    box.close()
    print(
        f"commit, 3 rows + 3 DELETEs, fsynced, in {d}: process {(t1 - t0) / commits * 1e6:.1f}"
        f" us a commit, wall {(w1 - w0) / commits * 1e6:.1f} us",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--protocol", default="3.1.1", choices=["3.1.1", "5"])
    ap.add_argument("--messages", type=int, default=40_000, help="for the publish figures")
    ap.add_argument("--commits", type=int, default=2_000, help="for the commit figure")
    ap.add_argument("--only", choices=["path", "publish", "commit"], default=None)
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory() as t:
        if args.only in (None, "publish"):
            for batch in (2, 8):
                for v5 in (False, True):
                    for rows in (False, True):
                        publish(args.messages, batch, v5, rows)
        if args.only in (None, "commit"):
            asyncio.run(commit(Path(t), args.commits))
        if args.only in (None, "path"):
            broker, port = start_broker(Path(t))
            try:
                asyncio.run(path(port, Path(t), args.rate, args.seconds, args.protocol))
            finally:
                broker.terminate()
                broker.wait()


if __name__ == "__main__":
    main()
