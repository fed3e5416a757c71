"""`gatewayd ble pair` as the installer runs it, against the fake bluetoothd."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest
from dbus_fast import DBusError

from tests.conftest import REPO
from tests.sinks.ble.fake_bluez import FakeBluez


async def start_pair(address: str, *args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": address}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gatewayd",
        "ble",
        "pair",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=REPO,
    )


async def line(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    return (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()


async def finish(proc: asyncio.subprocess.Process) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_passkey_window_closed_on_ctrl_c(bluez: FakeBluez, dbus_address: str) -> None:
    proc = await start_pair(dbus_address, "--seconds", "60")
    assert "pairing window open on hci0 for 60 s (passkey)" in await line(proc)
    agent = bluez.default_agent()
    assert agent is not None and agent.capability == "DisplayOnly"
    assert bluez.adapter_log == [("PairableTimeout", 60), ("Pairable", True)]

    await bluez.ask_agent("DisplayPasskey", "ouq", 4321, 0)
    await bluez.ask_agent("DisplayPasskey", "ouq", 4321, 3)  # keypress updates: shown once
    assert await line(proc) == "passkey for 11:22:33:44:55:66: 004321  (type it on the phone)\n"
    with pytest.raises(DBusError) as exc:  # no Just Works bond in a passkey window
        await bluez.ask_agent("RequestAuthorization")
    assert exc.value.type == "org.bluez.Error.Rejected"
    assert "refused pairing from 11:22:33:44:55:66" in await line(proc)
    await bluez.bond()
    assert await line(proc) == "bonded: 11:22:33:44:55:66 (Installer phone)\n"

    proc.send_signal(signal.SIGINT)
    rc, out, _err = await finish(proc)
    assert rc == 130
    assert "pairing window closed: hci0 is not pairable" in out
    assert bluez.adapter_log[2:] == [("Pairable", False), ("PairableTimeout", 0)]
    assert not bluez.agents


async def test_just_works_window_expires(bluez: FakeBluez, dbus_address: str) -> None:
    proc = await start_pair(dbus_address, "--seconds", "1", "--just-works")
    assert "(Just Works)" in await line(proc)
    agent = bluez.default_agent()
    assert agent is not None and agent.capability == "NoInputNoOutput"
    assert await bluez.ask_agent("RequestAuthorization") == []
    rc, out, _err = await finish(proc)
    assert rc == 0
    assert "accepting pairing from 11:22:33:44:55:66 (Just Works)" in out
    assert "pairing window closed" in out
    assert [v for k, v in bluez.adapter_log if k == "Pairable"] == [True, False]
    assert not bluez.agents


async def test_without_bluez(dbus_address: str) -> None:
    rc, _out, err = await finish(await start_pair(dbus_address, "--seconds", "5"))
    assert rc == 1 and "BlueZ (bluetoothd) is not running" in err


async def test_without_adapter(dbus_address: str) -> None:
    fake = FakeBluez(dbus_address)
    await fake.start(with_adapter=False)
    try:
        rc, _out, err = await finish(await start_pair(dbus_address, "--adapter", "hci0"))
    finally:
        await fake.stop()
    assert rc == 1 and "no Bluetooth adapter hci0" in err


async def test_bad_window_length(dbus_address: str) -> None:
    rc, _out, err = await finish(await start_pair(dbus_address, "--seconds", "0"))
    assert rc == 2 and "--seconds" in err
