"""Nothing lost while the broker is away: outages, a full outbox, a killed gateway, the will."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from gatewayd.meters.model import from_dict
from gatewayd.sinks.mqtt import MqttSink
from gatewayd.sinks.outbox import Outbox
from tests.conftest import REPO
from tests.sinks.conftest import Broker, Msg, Subscriber
from tests.sinks.mqtt_readings import numbered, seq_of
from tests.sinks.test_mqtt_delivery import BASE, settings

METER = f"{BASE}/meters/76348799"


def seqs(msgs: list[Msg]) -> list[int]:
    return [seq_of(m.payload) for m in msgs if m.topic == METER]


def first_occurrences(values: list[int]) -> list[int]:
    seen: set[int] = set()
    out: list[int] = []
    for v in values:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


def has_all(n: int) -> Any:
    return lambda ms: set(range(n)) <= set(seqs(ms))


async def test_broker_stopped_mid_stream_then_restarted_all_arrive_in_order(
    broker: Broker, subscribe: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gatewayd.sinks.mqtt")
    sub: Subscriber = subscribe(broker.port, f"{BASE}/#")
    sink = MqttSink(settings(broker, tmp_path))
    await sink.start()
    for i in range(10):
        sink.publish(from_dict(numbered(i)))
        await asyncio.sleep(0.01)
    await sub.wait_for(has_all(10))

    broker.stop()
    for i in range(10, 40):  # the radio keeps going; only the outbox grows
        sink.publish(from_dict(numbered(i)))
        await asyncio.sleep(0.01)
    assert sink.stats()["queued"] == 30
    assert sink.stats()["connected"] == 0

    broker.start()
    for i in range(40, 50):
        sink.publish(from_dict(numbered(i)))
        await asyncio.sleep(0.01)
    msgs = await sub.wait_for(has_all(50), timeout=20)
    assert first_occurrences(seqs(msgs)) == list(range(50))  # in order, duplicates allowed
    await sink.stop(2.0)
    st = sink.stats()
    assert (st["queued"], st["dropped"], st["connects"], st["disconnects"]) == (0, 0, 2, 1)

    lost = [r for r in caplog.records if "lost" in r.getMessage()]
    assert len(lost) == 1 and lost[0].levelno == logging.WARNING
    assert sum("MQTT connected" in r.getMessage() for r in caplog.records) == 2


async def test_full_outbox_drops_oldest_counts_and_logs_once(
    broker_factory: Any, subscribe: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "gatewayd.sinks.mqtt")
    broker: Broker = broker_factory(start=False)
    sink = MqttSink(settings(broker, tmp_path, outbox_max=10))
    for i in range(25):  # broker unreachable (not even started)
        sink.publish(from_dict(numbered(i)))
    st = sink.stats()
    assert (st["queued"], st["dropped"]) == (10, 15)
    full = [r for r in caplog.records if "outbox full" in r.getMessage()]
    assert len(full) == 1

    broker.start()
    sub: Subscriber = subscribe(broker.port, f"{BASE}/#")
    await sink.start()
    msgs = await sub.wait_for(lambda ms: set(range(15, 25)) <= set(seqs(ms)))
    assert first_occurrences(seqs(msgs)) == list(range(15, 25))  # the newest ten, in order
    await sink.stop(2.0)
    assert sink.stats()["dropped"] == 15


def _gateway(cfg: dict[str, Any], start: int, count: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sinks.mqtt_gateway_proc",
            json.dumps(cfg),
            str(start),
            str(count),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "stored"
    return proc


def _end(proc: subprocess.Popen[str], sig: int) -> int:
    proc.send_signal(sig)
    rc = proc.wait(timeout=10)
    assert proc.stdout is not None
    proc.stdout.close()
    return rc


def _cfg(broker: Broker, tmp_path: Path) -> dict[str, Any]:
    cfg = asdict(settings(broker, tmp_path))
    return {k: str(v) if isinstance(v, Path) else v for k, v in cfg.items() if v is not None}


async def test_gateway_killed_while_broker_down_then_restarted_all_arrive(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    sub: Subscriber = subscribe(broker.port, f"{BASE}/#")
    cfg = _cfg(broker, tmp_path)
    broker.stop()

    gw = _gateway(cfg, 0, 20)  # 0..19 stored while the broker is down
    await asyncio.sleep(0.3)  # it is retrying meanwhile
    _end(gw, signal.SIGKILL)
    box = Outbox(Path(cfg["state_dir"]) / "mqtt-outbox.sqlite3", 1000)
    assert len(box) == 20  # on disk, nothing sent
    box.close()

    broker.start()
    gw = _gateway(cfg, 20, 10)  # the restarted gateway: old rows first, then 20..29
    try:
        msgs = await sub.wait_for(has_all(30), timeout=20)
    finally:
        assert _end(gw, signal.SIGTERM) == 0
    assert first_occurrences(seqs(msgs)) == list(range(30))


async def test_will_says_offline_when_the_gateway_is_killed(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    sub: Subscriber = subscribe(broker.port, f"{BASE}/status")
    gw = _gateway(_cfg(broker, tmp_path), 0, 1)
    try:
        await sub.wait_for(lambda ms: [m.payload for m in ms] == [b"online"])
    finally:
        _end(gw, signal.SIGKILL)
    msgs = await sub.wait_for(lambda ms: len(ms) == 2)
    assert (msgs[1].payload, msgs[1].retain, msgs[1].qos) == (b"offline", True, 1)


async def test_clean_stop_of_the_gateway_process_says_offline_too(
    broker: Broker, subscribe: Any, tmp_path: Path
) -> None:
    sub: Subscriber = subscribe(broker.port, f"{BASE}/#")
    gw = _gateway(_cfg(broker, tmp_path), 0, 3)
    await sub.wait_for(has_all(3))
    assert _end(gw, signal.SIGTERM) == 0
    msgs = await sub.wait_for(lambda ms: ms[-1].payload == b"offline")
    assert [m.payload for m in msgs if m.topic.endswith("/status")] == [b"online", b"offline"]
