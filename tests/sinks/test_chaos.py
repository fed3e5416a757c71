"""Chaos: the daemon SIGKILLed and restarted three times and the broker stopped twice while
telegrams stream; every reading the daemon printed reaches a persistent QoS 1 subscriber.

Real parts throughout: `gatewayd run --stdout` (a FIFO radio fed at 50 telegrams/s), mosquitto
with persistence, a paho subscriber with a persistent session. Duplicates are allowed
(at-least-once); a printed reading that never arrives fails the test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.sinks.conftest import Broker, Subscriber
from tests.sinks.feeder import FifoFeeder, GatewaydRun, daemon_config
from tests.sinks.mqtt_readings import seq_of

GW = "chaos-gw"


async def test_kills_and_broker_outages_lose_nothing_printed(
    broker_factory: Any, subscribe: Any, tmp_path: Path
) -> None:
    broker: Broker = broker_factory()
    sub: Subscriber = subscribe(broker.port, f"metersync/{GW}/meters/#")
    feeder = FifoFeeder(tmp_path / "radio.fifo", rate=50.0)
    cfg = daemon_config(
        tmp_path / "config.toml",
        gateway=GW,
        state=tmp_path / "state",
        fifo=feeder.fifo,
        port=broker.port,
    )
    printed: list[int] = []
    feeder.start()
    daemon = GatewaydRun(cfg, printed)

    def restart() -> None:
        nonlocal daemon
        daemon.kill()
        daemon = GatewaydRun(cfg, printed)

    steps: list[Callable[[], None]] = [
        restart,
        broker.stop,
        broker.start,
        restart,
        broker.stop,
        restart,  # a start while the broker is down
        broker.start,
    ]
    try:
        for step in steps:
            await asyncio.sleep(2.5)
            step()
        await asyncio.sleep(2.5)
        feeder.paused.set()
        await asyncio.sleep(0.5)
        want = set(printed)
        msgs = await sub.wait_for(lambda ms: want <= {seq_of(m.payload) for m in ms}, timeout=40)
    finally:
        daemon.stop()
        feeder.stop()
    got = {seq_of(m.payload) for m in msgs}
    assert len(want) > 100  # telegrams did flow (start-up takes most of each 2.5 s on a busy CI)
    assert want <= got, sorted(want - got)[:20]
