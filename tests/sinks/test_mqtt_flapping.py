"""Brokers that misbehave: one that drops us after every CONNACK, one that stops answering,
and discovery configs that must survive an overflowing outbox."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gatewayd.meters.model import from_dict
from gatewayd.sinks.mqtt import MqttSettings, MqttSink
from gatewayd.sinks.mqtt.discovery import discovery_configs
from gatewayd.sinks.mqtt.payload import Topics
from tests.sinks.conftest import Broker, Subscriber
from tests.sinks.mqtt_readings import numbered, seq_of

GW = "flap-gw"
BASE = f"metersync/{GW}"


def settings(broker: Broker, tmp_path: Path, **kw: Any) -> MqttSettings:
    return broker.settings(GW, tmp_path, **{"reconnect_max_s": 5.0, "connect_timeout_s": 1.0, **kw})


async def test_a_rival_with_our_client_id_grows_the_backoff_and_is_named_once(
    broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "gatewayd.sinks.mqtt")
    cfg = settings(broker, tmp_path)
    sink = MqttSink(cfg)
    await sink.start()
    # A second "gateway" with the same client id, reconnecting 0.1 s after each kick.
    rival = paho.Client(CallbackAPIVersion.VERSION2, client_id=cfg.effective_client_id)
    rival.reconnect_delay_set(0.1, 0.1)  # type: ignore[arg-type]  # floats work; typed int
    rival.connect_async("127.0.0.1", broker.port)
    rival.loop_start()
    try:
        while sink.stats()["disconnects"] < 6:
            await asyncio.sleep(0.05)
    finally:
        rival.loop_stop()
        rival.disconnect()
        await sink.stop(1.0)
    lost = [r for r in caplog.records if "connection to" in r.getMessage()]
    assert [r.levelno for r in lost[:1]] == [logging.WARNING]  # once, loud ...
    assert {r.levelno for r in lost[1:]} == {logging.DEBUG}  # ... then quiet, counted
    assert "(2 times since the link was last stable)" in lost[1].getMessage()
    assert f"another client with id '{cfg.effective_client_id}' connected?" in lost[0].getMessage()
    delays = [float(re.search(r"retrying in ([0-9.e+-]+) s", r.getMessage())[1]) for r in lost]  # type: ignore[index]
    # Doubling per cycle (jitter x0.5..1): the sixth wait is far longer than the first.
    assert delays[5] > 4 * delays[0], delays
    connected = [r for r in caplog.records if "MQTT connected" in r.getMessage()]
    assert sum(r.levelno == logging.INFO for r in connected) <= 2  # first, and after the rival


async def test_no_puback_means_reconnect_and_resend_logged_once(
    broker: Broker, subscribe: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gatewayd.sinks.mqtt")
    sub: Subscriber = subscribe(broker.port, f"{BASE}/meters/#")
    sink = MqttSink(settings(broker, tmp_path, puback_timeout_s=1.0))
    await sink.start()
    while not sink.stats()["connected"]:
        await asyncio.sleep(0.02)
    assert broker.proc is not None
    broker.proc.send_signal(signal.SIGSTOP)  # TCP stays up; nothing answers
    try:
        for i in range(20):
            sink.publish(from_dict(numbered(i)))
        while sink.stats()["puback_timeouts"] < 1:
            await asyncio.sleep(0.05)
    finally:
        broker.proc.send_signal(signal.SIGCONT)
    msgs = await sub.wait_for(lambda ms: set(range(20)) <= {seq_of(m.payload) for m in ms}, 20)
    await sink.stop(1.0)
    assert sink.stats()["queued"] == 0
    assert [seq_of(m.payload) for m in msgs][-1] == 19
    watchdog = [r for r in caplog.records if "no PUBACK for 1 s" in r.getMessage()]
    assert [r.levelno for r in watchdog] == [logging.WARNING]


async def test_discovery_configs_outlive_an_overflowing_outbox(
    broker_factory: Any, subscribe: Any, tmp_path: Path
) -> None:
    broker: Broker = broker_factory()
    sub: Subscriber = subscribe(broker.port, "homeassistant/#")
    broker.stop()
    sink = MqttSink(settings(broker, tmp_path, ha_discovery=True, outbox_max=5))
    await sink.start()
    meters = [f"{20_000_000 + i}" for i in range(20)]
    for i, m in enumerate(meters):
        sink.publish(from_dict(numbered(i, m)))
    assert sink.stats()["dropped"] == 15  # the readings of 15 meters are gone ...
    broker.start()
    topics = Topics("metersync", GW)
    want = {
        c.topic
        for m in meters
        for c in discovery_configs(from_dict(numbered(0, m)), topics, "homeassistant")
    }
    msgs = await sub.wait_for(lambda ms: want <= {x.topic for x in ms}, timeout=20)
    await sink.stop(1.0)
    assert len(want) == 20 * 15  # ... their discovery configs are not
    assert all(m.retain for m in msgs)
