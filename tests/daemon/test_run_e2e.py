"""`gatewayd run` end to end: pty iM871A simulator -> subprocess -> stdout JSON-lines sink, with a
fake $NOTIFY_SOCKET. Covers dedup, heartbeat, alarms, unconfigured meters, SIGHUP with a changed
key, SIGTERM drain, restart with persisted compact formats, and the watchdog."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewayd.demo.sim import ImstSimulator
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import FormatUnknownError
from tests.daemon.harness import (
    KEY,
    LEAK,
    METER,
    OTHER_KEY,
    UNSEEDED,
    DaemonProcess,
    NotifySocket,
    mc21,
    write_config,
)


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[ImstSimulator]:
    async with ImstSimulator(link=tmp_path / "ttyWMBUS", rate=20) as s:
        yield s


@pytest.fixture
async def notify(tmp_path: Path) -> AsyncIterator[NotifySocket]:
    n = NotifySocket(tmp_path / "notify")
    yield n
    n.close()


async def sent(sim: ImstSimulator, *frames: bytes) -> None:
    """Queue frames and wait until the simulator has written them all and the daemon read them."""
    target = sim.counters["frames_sent"] + len(frames)
    sim.send(*frames)
    async with asyncio.timeout(10):
        while sim.counters["frames_sent"] < target:
            await asyncio.sleep(0.01)
    await sim.delivered()


def final_status(notify: NotifySocket) -> str:
    return notify.lines("STATUS=")[-1][1]


async def test_dedup_heartbeat_alarms_and_systemd_notifications(
    tmp_path: Path, sim: ImstSimulator, notify: NotifySocket
) -> None:
    cfg = write_config(tmp_path, heartbeat_s=2)
    env = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "1000000"}
    d = await DaemonProcess.start(cfg, env=env)
    try:
        await notify.wait_for("READY=1")
        # READY means the daemon is up; frames go out once the radio is configured
        await notify.wait_for("STATUS=radio up")
        first = mc21(1, 100_000)
        stranger = [mc21(a, 5, meter="99999999", key=OTHER_KEY) for a in (1, 2)]
        await sent(sim, first, first, stranger[0], mc21(2, 100_000), stranger[1])
        await d.wait_readings(1)
        await sent(sim, mc21(3, 100_001, info=LEAK), mc21(4, 100_001, info=LEAK))
        await d.wait_readings(2)
        await asyncio.sleep(2.2)  # past heartbeat_s since the alarm was published
        await sent(sim, mc21(5, 100_001, info=LEAK))
        await d.wait_readings(3)
        await asyncio.sleep(0.3)
        rc = await d.stop()
    finally:
        await d.kill()
    assert rc == 0
    totals = [(r["total_m3"], r["alarms"]["leak"]) for r in d.readings]
    # first; (dup dropped; acc 2 unchanged -> held back); leak at once; (acc 4 held); heartbeat
    assert totals == [(100.0, False), (100.001, True), (100.001, True)]
    assert all(r["id"] == METER and r["rssi_dbm"] is not None for r in d.readings)
    assert d.log_count("unconfigured meter 99999999: KAM cold water") == 1
    assert d.log_count("alarms now") == 1
    assert KEY.hex() not in d.log().lower() and OTHER_KEY.hex() not in d.log().lower()
    # systemd: READY, WATCHDOG from the loop, STATUS with counters, STOPPING at the end
    assert notify.lines("READY=1") and notify.lines("STOPPING=1")
    assert len(notify.lines("WATCHDOG=1")) >= 4
    assert notify.lines("READY=1")[0][0] < notify.lines("STOPPING=1")[0][0]
    status = final_status(notify)
    assert "8 frames, 5 decoded, 3 published, 1 dup" in status, status


async def test_sighup_reloads_a_changed_key_without_reopening_the_radio(
    tmp_path: Path, sim: ImstSimulator, notify: NotifySocket
) -> None:
    cfg = write_config(tmp_path, key=OTHER_KEY)
    d = await DaemonProcess.start(cfg, env={"NOTIFY_SOCKET": str(notify.path)})
    try:
        await notify.wait_for("READY=1")
        # READY means the daemon is up; frames go out once the radio is configured
        await notify.wait_for("STATUS=radio up")
        await sent(sim, mc21(1, 2000), mc21(2, 2000))
        await d.wait_log("telegram not decoded (wrong_key)", count=2)
        write_config(tmp_path, key=KEY)
        d.signal(signal.SIGHUP)
        await d.wait_log("reloaded: 1 meters")
        await sent(sim, mc21(3, 2001))
        await d.wait_readings(1)
        rc = await d.stop()
    finally:
        await d.kill()
    assert rc == 0
    assert [r["total_m3"] for r in d.readings] == [2.001]
    assert d.log_count("does not decrypt") == 1  # once per meter, not per telegram
    assert sim.config_count == 1  # the radio was configured once: not reopened by SIGHUP
    assert len(notify.lines("READY=1")) == 2  # start, and after the reload


async def test_sigterm_drains_and_a_restart_decodes_compact_frames_at_once(
    tmp_path: Path, sim: ImstSimulator, notify: NotifySocket
) -> None:
    full = [mc21(a, 300_000 + a, layout=UNSEEDED) for a in range(1, 6)]
    compact_same = mc21(10, 300_005, layout=UNSEEDED, compact=True)
    compact_new = mc21(11, 300_006, layout=UNSEEDED, compact=True)
    # the control: without the learnt format, the compact frame cannot be decoded
    with pytest.raises(FormatUnknownError):
        Decoder(keys={METER: KEY}).decode(compact_new)

    cfg = write_config(tmp_path)
    d = await DaemonProcess.start(cfg, env={"NOTIFY_SOCKET": str(notify.path)})
    try:
        await notify.wait_for("READY=1")
        # READY means the daemon is up; frames go out once the radio is configured
        await notify.wait_for("STATUS=radio up")
        await sent(sim, *full)
        rc = await d.stop()  # at once: whatever is in flight must still come out
    finally:
        await d.kill()
    assert rc == 0
    assert [r["total_m3"] for r in d.readings] == [300.001, 300.002, 300.003, 300.004, 300.005]
    saved = json.loads((tmp_path / "state" / "compact-formats.json").read_text())
    assert [f["format"] for f in saved["formats"]] == ["".join(UNSEEDED)]

    radio_up_before = len(notify.lines("STATUS=radio up"))
    d2 = await DaemonProcess.start(cfg, env={"NOTIFY_SOCKET": str(notify.path)})
    try:
        await notify.wait_for("READY=1", count=2)
        # READY means the daemon is up; frames go out once the radio is configured
        await notify.wait_for("STATUS=radio up", count=radio_up_before + 1)
        await sent(sim, compact_same, compact_new)
        await d2.wait_readings(1)
        rc = await d2.stop()
    finally:
        await d2.kill()
    assert rc == 0
    # the unchanged reading stayed suppressed across the restart; the new one is published
    assert [(r["total_m3"], r["target_m3"]) for r in d2.readings] == [(300.006, 300.0)]
    assert "2 decoded, 1 published" in final_status(notify)
    assert "0 fmt unknown" in final_status(notify)


async def test_watchdog_pings_stop_while_the_event_loop_is_blocked(
    tmp_path: Path, sim: ImstSimulator, notify: NotifySocket
) -> None:
    cfg = write_config(tmp_path, extra="[debug]\nsigusr2_block_s = 2.5\n")
    env = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "400000"}
    d = await DaemonProcess.start(cfg, env=env)
    try:
        await notify.wait_for("READY=1")
        await notify.wait_for("WATCHDOG=1", count=3)
        before = len(notify.lines("WATCHDOG=1"))
        t_block = asyncio.get_running_loop().time()
        d.signal(signal.SIGUSR2)
        await asyncio.sleep(4)
        rc = await d.stop()
    finally:
        await d.kill()
    assert rc == 0
    pings = [t for t, _ in notify.lines("WATCHDOG=1")]
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    # every 0.2 s normally; one gap of about the blocking time; then they resume
    assert max(gaps) >= 2.0, gaps
    assert max(gaps[: before - 1]) < 1.0, gaps
    assert any(t > t_block + 2.5 for t in pings), "pings did not resume"


async def test_a_meter_heard_but_never_decrypted_keeps_its_learnt_interval(
    tmp_path: Path, sim: ImstSimulator, notify: NotifySocket
) -> None:
    cfg = write_config(tmp_path, key=OTHER_KEY)  # the meter encrypts with KEY: no reading ever
    d = await DaemonProcess.start(cfg, env={"NOTIFY_SOCKET": str(notify.path)})
    try:
        await notify.wait_for("STATUS=radio up")
        for acc in range(1, 4):  # three telegrams 1.5 s apart: two gaps of ~1.5 s
            if acc > 1:
                await asyncio.sleep(1.5)
            await sent(sim, mc21(acc, 100_000 + acc))
        rc = await d.stop()
    finally:
        await d.kill()
    assert rc == 0
    assert d.readings == []  # heard, never decrypted
    saved = json.loads((tmp_path / "state" / "meters.json").read_text())
    assert saved["intervals"][METER] >= 1.0  # learnt (shorter gaps do not count): kept
