"""`gatewayd run` with two receivers ([[radios]]): one reading per telegram however many heard
it, the best RSSI kept, per-radio state in STATUS=, and the daemon up while any radio is."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gatewayd.demo.sim import ImstSimulator
from tests.daemon.harness import DaemonProcess, NotifySocket, mc21, write_config


async def test_two_receivers_one_reading_best_rssi_and_survives_one_down(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    radios = (
        f'[[radios]]\nname = "near"\nkind = "im871a"\ndevice = "{tmp_path / "ttyA"}"\n\n'
        f'[[radios]]\nname = "far"\nkind = "im871a"\ndevice = "{tmp_path / "ttyB"}"\n'
    )
    text = cfg.read_text()
    start = text.index("[radio]")
    end = text.index("[publish]")
    cfg.write_text(text[:start] + radios + "\n" + text[end:])
    notify = NotifySocket(tmp_path / "notify")
    async with (
        ImstSimulator(link=tmp_path / "ttyA", rate=50, rssi_raw=200) as near,  # -22.5 dBm
        ImstSimulator(link=tmp_path / "ttyB", rate=50, rssi_raw=100) as far,  # -72.5 dBm
    ):
        d = await DaemonProcess.start(cfg, env={"NOTIFY_SOCKET": str(notify.path)})
        try:
            await notify.wait_for("READY=1")
            async with asyncio.timeout(10):
                while near.mode != "c1" or far.mode != "c1":
                    await asyncio.sleep(0.02)
            telegram = mc21(1, 1000)
            far.send(telegram)
            near.send(telegram)
            await d.wait_readings(1)
            await near.unplug()  # one receiver gone: the other still delivers
            far.send(mc21(2, 1001))
            await d.wait_readings(2)
            async with asyncio.timeout(15):
                while not any("far running" in line for _, line in notify.lines("STATUS=")):
                    await asyncio.sleep(0.1)
            rc = await d.stop()
        finally:
            await d.kill()
            notify.close()
    assert rc == 0
    assert [(r["total_m3"], r["rssi_dbm"]) for r in d.readings] == [(1.0, -22.5), (1.001, -72.5)]
    # both receivers heard the first telegram; only "far" was left for the second
    assert [sorted(r["receivers"]) for r in d.readings] == [["far", "near"], ["far"]]
    status = [line for _, line in notify.lines("STATUS=") if "radios: near " in line]
    # after the unplug: near is reconnecting while far runs, and STATUS= says so per radio
    assert any(
        "far running" in s and ("near backoff" in s or "near connecting" in s) for s in status
    )
