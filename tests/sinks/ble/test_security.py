"""Who may bond and what a bond opens: LE Secure Connections for `authenticated`, Pairable off
outside `gatewayd ble pair`, new Just Works bonds for `encrypted` only inside a window."""

from __future__ import annotations

import logging
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from bleak import BleakClient
from bleak.exc import BleakDBusError

from gatewayd.meters.model import from_dict
from gatewayd.sinks.ble import BleSettings, BleSink, gatt
from gatewayd.sinks.ble.bluez import BleState
from tests.sinks.ble.fake_att import AUTHENTICATED, ENCRYPTED, SECURE
from tests.sinks.ble.fake_bluez import GATEWAY_ADDRESS, PHONE, FakeBluez
from tests.sinks.ble.fake_central import FakeCentral
from tests.sinks.ble.test_bleak import close_bleak
from tests.sinks.ble.test_client import finish, gatewayd, line
from tests.sinks.ble.test_gatt import K1_READING
from tests.sinks.ble.test_server import until


@pytest.fixture
async def start_gateway(
    dbus_address: str, bluez: FakeBluez, client_dbus_address: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Any]]:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", client_dbus_address)
    sinks: list[BleSink] = []

    async def start(security: str = "authenticated") -> BleSink:
        settings = BleSettings(
            gateway_id="site-17",
            bus_address=dbus_address,
            retry_s=0.1,
            security=security,  # type: ignore[arg-type]
        )
        sink = BleSink(settings)
        sinks.append(sink)
        await sink.start()
        await bluez.wait(lambda: bool(bluez.apps) and bool(bluez.adverts))
        await until(lambda: sink.state is BleState.REGISTERED)
        sink.publish(from_dict(K1_READING))
        return sink

    yield start
    for s in sinks:
        await s.stop(2.0)
    await close_bleak()


async def readable(central: FakeCentral) -> bool:
    async with BleakClient(GATEWAY_ADDRESS, timeout=5) as client:
        try:
            await client.read_gatt_char(gatt.READING.uuid)
        except BleakDBusError as exc:
            assert exc.dbus_error == "org.bluez.Error.NotPermitted"
            return False
        return True


@pytest.mark.parametrize(
    ("security", "level", "opens"),
    [
        ("authenticated", ENCRYPTED, False),  # Just Works
        ("authenticated", AUTHENTICATED, False),  # legacy passkey: crackable from a sniffed pairing
        ("authenticated", SECURE, True),  # LE Secure Connections + passkey
        ("encrypted", ENCRYPTED, True),
    ],
)
async def test_what_a_bond_opens(
    start_gateway: Any,
    bluez: FakeBluez,
    central: FakeCentral,
    security: str,
    level: int,
    opens: bool,
) -> None:
    await start_gateway(security)
    bluez.add_bond(PHONE, level)
    central.bonds[GATEWAY_ADDRESS] = level
    assert await readable(central) is opens


async def test_pairable_off_at_start_and_after_a_bluez_restart(
    start_gateway: Any, bluez: FakeBluez, central: FakeCentral, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gatewayd.sinks.ble")
    bluez.pairable_at_start = True  # main.conf AlwaysPairable = true
    await bluez.stop()
    await bluez.start()
    sink = await start_gateway("encrypted")
    await until(lambda: ("Pairable", False) in bluez.adapter_log)
    assert not bluez.pairable
    bluez.adapter_log.clear()
    await bluez.stop()
    await bluez.start()  # pairable again, as BlueZ's config says (the sink may already be at it)
    await until(lambda: ("Pairable", False) in bluez.adapter_log)
    await until(lambda: sink.state is BleState.REGISTERED)
    assert sum("Pairable turned off" in r.getMessage() for r in caplog.records) == 2


async def test_encrypted_mode_takes_just_works_bonds_only_in_a_window(
    start_gateway: Any, bluez: FakeBluez, central: FakeCentral, dbus_address: str
) -> None:
    bluez.pairable_at_start = True
    await bluez.stop()
    await bluez.start()
    await start_gateway("encrypted")
    await until(lambda: not bluez.pairable)
    async with BleakClient(GATEWAY_ADDRESS, timeout=5) as client:  # no agent here: Just Works
        with pytest.raises(BleakDBusError) as exc:
            await client.pair()
        assert exc.value.dbus_error == "org.bluez.Error.AuthenticationFailed"
    assert PHONE not in bluez.bonds

    window = await gatewayd(dbus_address, "ble", "pair", "--just-works", "--seconds", "30")
    assert "(Just Works)" in await line(window)
    async with BleakClient(GATEWAY_ADDRESS, timeout=5) as client:
        await client.pair()
        assert len(await client.read_gatt_char(gatt.READING.uuid)) == 20
    window.send_signal(signal.SIGINT)
    rc, out, _ = await finish(window)
    assert rc == 130 and "accepting pairing from 11:22:33:44:55:66 (Just Works)" in out
    assert bluez.bonds[PHONE] == ENCRYPTED and not bluez.pairable
