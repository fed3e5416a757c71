"""`gatewayd ble read/scan` (bleak) against `gatewayd run` with a replay radio, end to end over
two private buses: the client's bluetoothd and the gateway's, linked by the fake radio."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.daemon.harness import KEY, METER, mc21
from tests.sinks.ble.fake_att import SECURE
from tests.sinks.ble.fake_bluez import GATEWAY_ADDRESS, FakeBluez
from tests.sinks.ble.fake_central import FakeCentral
from tests.sinks.ble.test_server import until

Proc = asyncio.subprocess.Process


async def gatewayd(bus: str, *args: str, stdin: bool = False) -> Proc:
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": bus}
    pipe = asyncio.subprocess.PIPE
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gatewayd", *args,
        stdin=pipe if stdin else asyncio.subprocess.DEVNULL,
        stdout=pipe, stderr=pipe, env=env, cwd=REPO,
    )  # fmt: skip


async def line(proc: Proc, timeout: float = 20) -> str:
    assert proc.stdout is not None
    return (await asyncio.wait_for(proc.stdout.readline(), timeout)).decode()


async def finish(proc: Proc, timeout: float = 30) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
async def daemon(dbus_address: str, bluez: FakeBluez, tmp_path: Path) -> AsyncIterator[Proc]:
    """`gatewayd run`: telegrams on stdin (replay radio), BLE on the gateway's bus."""
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[gateway]
id = "site-17"
state_dir = "{tmp_path / "state"}"

[radio]
kind = "replay"
device = "-"

[[meters]]
id = "{METER}"
name = "kitchen"
key = "{KEY.hex().upper()}"

[ble]
bus_address = "{dbus_address}"

[stdout]
enabled = true
"""
    )
    proc = await gatewayd(dbus_address, "run", "--config", str(config), stdin=True)
    try:
        await bluez.wait(lambda: bool(bluez.apps) and bool(bluez.adverts), timeout=30)
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await finish(proc)


async def published(daemon: Proc, n: int) -> list[dict[str, Any]]:
    """The next n readings the daemon published (its --stdout JSON lines)."""
    return [json.loads(await line(daemon)) for _ in range(n)]


def send(daemon: Proc, *frames: bytes) -> None:
    assert daemon.stdin is not None
    daemon.stdin.write(b"".join(f"{f.hex()};-70\n".encode() for f in frames))


async def test_scan(daemon: Proc, central: FakeCentral, client_dbus_address: str) -> None:
    rc, out, _ = await finish(
        await gatewayd(client_dbus_address, "ble", "scan", "--seconds", "0.5", "--json")
    )
    assert rc == 0
    (found,) = json.loads(out)
    assert (found["address"], found["name"]) == (GATEWAY_ADDRESS, "MS-site-")
    assert found["rssi_dbm"] in (-60, -61)  # the fake radio's RSSI


async def test_unbonded_read_is_refused(
    daemon: Proc, central: FakeCentral, client_dbus_address: str
) -> None:
    rc, _out, err = await finish(
        await gatewayd(client_dbus_address, "ble", "read", "--listen", "0")
    )
    assert rc == 1 and "no bond" in err


async def test_pair_with_passkey_then_read(
    daemon: Proc,
    bluez: FakeBluez,
    central: FakeCentral,
    dbus_address: str,
    client_dbus_address: str,
) -> None:
    send(daemon, *(mc21(i, 5000 + i) for i in range(3)))
    assert [r["total_m3"] for r in await published(daemon, 3)] == [5.0, 5.001, 5.002]
    window = await gatewayd(dbus_address, "ble", "pair", "--seconds", "60")
    assert "pairing window open" in await line(window)
    client = await gatewayd(
        client_dbus_address, "ble", "read", "--pair", "--listen", "0", stdin=True
    )
    shown = await line(window)
    assert shown.startswith("passkey for 11:22:33:44:55:66: ")
    passkey = shown.split(": ")[1].split()[0]
    assert client.stdin is not None
    client.stdin.write(f"{passkey}\n".encode())
    rc, out, err = await finish(client)
    assert rc == 0, err
    assert "passkey shown by the gateway" in err
    assert await line(window) == "bonded: 11:22:33:44:55:66 (Installer phone)\n"
    window.send_signal(signal.SIGINT)
    await finish(window)
    assert bluez.bonds["11:22:33:44:55:66"] == SECURE
    lines = out.splitlines()
    assert lines[0] == f"connected to {GATEWAY_ADDRESS}, ATT MTU 23"
    assert lines[1] == f"bonded with {GATEWAY_ADDRESS}"
    assert any(ln.startswith("meters: 1 known, page 0 of 1 (1 here)") for ln in lines)
    assert any(ln.startswith(f"  {METER}  5.002 m³  ") for ln in lines)


@pytest.mark.parametrize("mtu", [23, 247])
async def test_read_json_and_notifications(
    daemon: Proc, bluez: FakeBluez, central: FakeCentral, client_dbus_address: str, mtu: int
) -> None:
    bluez.add_bond("11:22:33:44:55:66", SECURE)
    central.bonds[GATEWAY_ADDRESS] = SECURE
    central.mtu = mtu
    send(daemon, mc21(0, 5000), mc21(1, 5001))
    decoded = (await published(daemon, 2))[-1]
    client = await gatewayd(
        client_dbus_address, "ble", "read", GATEWAY_ADDRESS, "--json", "--listen", "3"
    )
    await until(lambda: sum(c.notifying for c in central.chars.values()) == 2, timeout=20)
    later = [mc21(2, 5002), mc21(3, 5003)]
    send(daemon, *later)
    rc, out, err = await finish(client)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["mtu"] == mtu and doc["address"] == GATEWAY_ADDRESS
    assert doc["meters_known"] == 1 and doc["selected"] == METER
    (meter,) = doc["meters"]
    assert meter["id"] == METER and meter["total_m3"] == decoded["total_m3"] == 5.001
    assert meter["timestamp"] == decoded["timestamp"].replace("+00:00", "Z")
    assert doc["reading"] == meter
    assert doc["status"]["meters_known"] == 1 and doc["status"]["radio"] in ("up", "unknown")
    assert doc["status"]["counters"]["frames"] >= 2
    notified = doc["notifications"]
    assert [r["total_m3"] for r in notified["readings"]] == [5.002, 5.003]
    # raw telegrams exactly as the radio heard them (still encrypted), with their RSSI
    assert [(r["telegram"], r["rssi_dbm"]) for r in notified["raw_telegrams"]] == [
        (f.hex(), -70) for f in later
    ]
    assert central.truncated == []


async def test_check_runs_the_hardware_checklist(
    daemon: Proc,
    bluez: FakeBluez,
    central: FakeCentral,
    dbus_address: str,
    client_dbus_address: str,
) -> None:
    send(daemon, mc21(0, 5000))
    await published(daemon, 1)
    window = await gatewayd(dbus_address, "ble", "pair", "--seconds", "60")
    assert "pairing window open" in await line(window)
    args = ("ble", "check", GATEWAY_ADDRESS, "--listen", "2", "--restart", "20")
    check = await gatewayd(client_dbus_address, *args, stdin=True)
    passkey = (await line(window)).split(": ")[1].split()[0]
    assert check.stdin is not None
    check.stdin.write(f"{passkey}\n".encode())
    await until(lambda: sum(c.notifying for c in central.chars.values()) == 2, timeout=30)
    send(daemon, mc21(1, 5001))
    seen = []
    while "now restart bluetooth" not in (ln := await line(check, 30)):
        seen.append(ln)
    await bluez.stop()  # the installer restarts bluetoothd on the gateway
    await bluez.start()
    rc, out, err = await finish(check, 60)
    window.send_signal(signal.SIGINT)
    await finish(window)
    steps = [
        ln.split(":")[0] for ln in [*seen, *out.splitlines()] if ln[:4] in ("PASS", "FAIL", "SKIP")
    ]
    assert steps == [
        "PASS  advertised",
        "PASS  unreadable without a bond",
        "PASS  pairing",
        "PASS  reads at MTU 23",
        "SKIP  reads at MTU 247",
        "PASS  notifications",
        "PASS  bond survives a bluetoothd restart",
    ], (seen, out, err)
    assert out.splitlines()[-1] == "check: 6 pass, 0 fail, 1 skip"
    assert rc == 0
