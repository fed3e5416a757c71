"""READY=1 means the daemon is up, not the radio: with the radio's device missing, or a device
that does not answer, `gatewayd run` reports READY, says in STATUS= what it waits for, and opens
the radio when it appears, without a restart."""

from __future__ import annotations

import asyncio
import os
import tty
from pathlib import Path

from gatewayd.demo.sim import ImstSimulator
from tests.daemon.harness import DaemonProcess, NotifySocket, mc21, write_config


def statuses(notify: NotifySocket) -> list[str]:
    return [text for _, text in notify.lines("STATUS=")]


async def status_with(notify: NotifySocket, text: str, timeout: float = 20) -> str:
    """The first STATUS= that contains `text` (polled: repeated radio failures log nothing)."""
    async with asyncio.timeout(timeout):
        while not any(text in s for s in statuses(notify)):
            await asyncio.sleep(0.05)
    return next(s for s in statuses(notify) if text in s)


async def test_ready_without_the_radio_then_the_stick_is_plugged_in(tmp_path: Path) -> None:
    device = tmp_path / "ttyWMBUS"
    cfg = write_config(tmp_path)
    notify = NotifySocket(tmp_path / "notify")
    d = await DaemonProcess.start(cfg, env={"NOTIFY_SOCKET": str(notify.path)})
    try:
        await notify.wait_for("READY=1")
        want = f"radio waiting for {device}: no such device"
        await status_with(notify, want)
        async with ImstSimulator(link=device, rate=20) as sim:
            await status_with(notify, f"radio up on {device}")
            sim.send(mc21(1, 1234))
            await d.wait_readings(1)
        rc = await d.stop()
    finally:
        await d.kill()
        notify.close()
    assert rc == 0
    assert [r["total_m3"] for r in d.readings] == [1.234]
    assert len(notify.lines("READY=1")) == 1


async def test_a_device_that_does_not_answer_names_the_likely_cause(tmp_path: Path) -> None:
    controller, peer = os.openpty()
    tty.setraw(controller)
    device = tmp_path / "ttyWMBUS"
    device.symlink_to(os.ttyname(peer))
    cfg = write_config(tmp_path)
    notify = NotifySocket(tmp_path / "notify")
    d = await DaemonProcess.start(cfg, env={"NOTIFY_SOCKET": str(notify.path)})
    try:
        await notify.wait_for("READY=1")
        want = "is `kind` right (radio.kind = 'im871a')?"
        status = await status_with(notify, want)
        rc = await d.stop()
    finally:
        await d.kill()
        notify.close()
        os.close(controller)
        os.close(peer)
    assert rc == 0
    assert f"radio waiting for {device}: " in status and "no answer to ping" in status, status
