"""Per-meter health end to end: `gatewayd run` (pty iM871A simulator) to a real mosquitto.

A meter configured with a typo in its id is reported never heard, retained, within the
threshold; a heard meter goes silent and comes back; each transition is logged once with its
journal fields; a reload that removes a meter clears its retained health."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gatewayd.demo.sim import ImstSimulator
from tests.conftest import REPO
from tests.daemon.harness import METER, DaemonProcess, mc21, write_config
from tests.sinks.conftest import Broker, Msg, Subscriber

HEALTH_SCHEMA = json.loads((REPO / "gatewayd/sinks/mqtt/health.schema.json").read_text())
BASE = "metersync/test-gw"
TYPO = "11223345"  # one digit off METER: a meter that is never heard


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[ImstSimulator]:
    async with ImstSimulator(link=tmp_path / "ttyWMBUS", rate=20) as s:
        yield s


async def sent(sim: ImstSimulator, *frames: bytes) -> None:
    target = sim.counters["frames_sent"] + len(frames)
    sim.send(*frames)
    async with asyncio.timeout(10):
        while sim.counters["frames_sent"] < target:
            await asyncio.sleep(0.01)
    await sim.delivered()


def config(tmp: Path, port: int, *, typo: bool = True) -> Path:
    typo_meter = f'\n[[meters]]\nid = "{TYPO}"\nname = "cellar"\nencrypted = false\n'
    extra = f"""
[health]
silent_after_s = 2
{typo_meter if typo else ""}
[mqtt]
host = "127.0.0.1"
port = {port}
stats_interval_s = 1
"""
    return write_config(tmp, extra=extra)


def health(msgs: list[Msg], meter: str) -> list[dict[str, Any]]:
    out = []
    for m in msgs:
        if m.topic == f"{BASE}/health/{meter}" and m.payload:
            assert m.retain and m.qos == 1
            body = json.loads(m.payload)
            jsonschema.validate(body, HEALTH_SCHEMA)
            out.append(body)
    return out


def last_state(meter: str, state: str) -> Any:
    return lambda ms: bool(health(ms, meter)) and health(ms, meter)[-1]["state"] == state


async def test_a_meter_with_a_typo_in_its_id_is_seen_as_never_heard(
    broker: Broker, subscribe: Any, tmp_path: Path, sim: ImstSimulator
) -> None:
    cfg = config(tmp_path, broker.port)
    d = await DaemonProcess.start(cfg)
    try:
        await d.wait_log("radio im871a")
        await sent(sim, mc21(1, 1000))
        await d.wait_readings(1)
        await d.wait_log("never heard", timeout=20)
        # a subscriber arriving now gets the retained never_heard message
        late: Subscriber = subscribe(broker.port, f"{BASE}/health/{TYPO}", persistent=False)
        msgs = await late.wait_for(last_state(TYPO, "never_heard"), timeout=15)
        (body,) = health(msgs, TYPO)[-1:]
        assert body == {
            "id": TYPO,
            "name": "cellar",
            "state": "never_heard",
            "last_seen": None,
            "interval_s": None,
            "rssi_dbm": None,
            "telegrams": 0,
        }
        # removed from the config: the reload clears its retained health
        sub: Subscriber = subscribe(broker.port, f"{BASE}/health/{TYPO}")
        config(tmp_path, broker.port, typo=False)
        d.signal(signal.SIGHUP)
        await d.wait_log("reloaded: 1 meters")
        await sub.wait_for(lambda ms: any(m.payload == b"" for m in ms), timeout=15)
        rc = await d.stop()
    finally:
        await d.kill()
    assert rc == 0
    (line,) = [ln for ln in d.stderr if "never heard" in ln]
    assert "WARNING" in line and "cellar" in line
    assert "gatewayd_event=meter_silent" in line and f"meter_id={TYPO}" in line
    gone: Subscriber = subscribe(broker.port, f"{BASE}/health/#", persistent=False)
    await gone.wait_for(lambda ms: len(ms) >= 1)
    await asyncio.sleep(0.5)
    assert {m.topic for m in gone.snapshot()} == {f"{BASE}/health/{METER}"}


async def test_a_heard_meter_goes_silent_and_comes_back(
    broker: Broker, subscribe: Any, tmp_path: Path, sim: ImstSimulator
) -> None:
    sub: Subscriber = subscribe(broker.port, f"{BASE}/#")
    cfg = config(tmp_path, broker.port, typo=False)
    d = await DaemonProcess.start(cfg)
    try:
        await d.wait_log("radio im871a")
        await sent(sim, mc21(1, 1000), mc21(2, 1001))
        await d.wait_readings(2)
        await d.wait_log("is silent", timeout=20)
        await sub.wait_for(last_state(METER, "silent"), timeout=15)
        await sent(sim, mc21(3, 1002))
        await d.wait_log("heard again")
        msgs = await sub.wait_for(last_state(METER, "ok"), timeout=15)
        stats = [
            json.loads(m.payload)
            for m in await sub.wait_for(
                lambda ms: any(m.topic == f"{BASE}/stats" for m in ms[len(msgs) :]), timeout=15
            )
            if m.topic == f"{BASE}/stats"
        ]
        rc = await d.stop()
    finally:
        await d.kill()
    assert rc == 0
    states = [h["state"] for h in health(sub.snapshot(), METER)]
    assert "silent" in states and states[-1] == "ok"
    back = health(sub.snapshot(), METER)[-1]
    assert back["telegrams"] == 3 and back["rssi_dbm"] is not None and back["last_seen"]
    assert stats[-1]["meters"] == {"ok": 1, "silent": 0, "never_heard": 0}
    (silent,) = [ln for ln in d.stderr if "is silent" in ln]  # once, not once per tick
    assert "WARNING" in silent and "kitchen" in silent and "gatewayd_event=meter_silent" in silent
    (again,) = [ln for ln in d.stderr if "heard again" in ln]
    assert "INFO" in again and "gatewayd_event=meter_back" in again and f"meter_id={METER}" in again


async def test_a_meter_removed_while_the_daemon_was_stopped_is_cleared_at_the_next_start(
    broker: Broker, subscribe: Any, tmp_path: Path, sim: ImstSimulator
) -> None:
    sub: Subscriber = subscribe(broker.port, f"{BASE}/health/{TYPO}")
    d = await DaemonProcess.start(config(tmp_path, broker.port))
    try:
        await d.wait_log("radio im871a")
        await sent(sim, mc21(1, 1000))
        await d.wait_readings(1)
        await sub.wait_for(lambda ms: bool(health(ms, TYPO)), timeout=15)  # retained at start
        assert await d.stop() == 0  # the state dir now remembers the meters watched
    finally:
        await d.kill()
    d = await DaemonProcess.start(config(tmp_path, broker.port, typo=False))
    try:
        await sub.wait_for(lambda ms: ms[-1].payload == b"" and ms[-1].retain, timeout=20)
        assert await d.stop() == 0
    finally:
        await d.kill()
