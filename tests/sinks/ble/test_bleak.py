"""bleak, unmodified, against the GATT server: the phone's side over D-Bus (bleak -> the client's
bluetoothd -> radio -> the gateway's bluetoothd -> gatewayd), at MTU 23 and 247."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from bleak import BleakClient, BleakScanner  # the ble-client extra: bash dev.sh test installs it
from bleak.exc import BleakDBusError, BleakGATTProtocolError, BleakGATTProtocolErrorCode

from gatewayd.meters.model import from_dict
from gatewayd.sinks.ble import BleSettings, BleSink, gatt
from gatewayd.sinks.ble.bluez import BleState
from tests.sinks.ble.fake_att import ENCRYPTED, SECURE
from tests.sinks.ble.fake_bluez import GATEWAY_ADDRESS, PHONE, FakeBluez
from tests.sinks.ble.fake_central import FakeCentral
from tests.sinks.ble.test_gatt import K1_FRAME, K1_READING
from tests.sinks.ble.test_server import K1_RECORD, reading, until


@pytest.fixture
async def gateway(
    dbus_address: str, bluez: FakeBluez, client_dbus_address: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[BleSink]:
    """A registered GATT server; bleak in this process talks to the client machine's bus."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", client_dbus_address)
    sink = BleSink(BleSettings(gateway_id="site-17", bus_address=dbus_address, retry_s=0.1))
    await sink.start()
    await bluez.wait(lambda: bool(bluez.apps) and bool(bluez.adverts))
    await until(lambda: sink.state is BleState.REGISTERED)
    yield sink
    await sink.stop(2.0)
    await close_bleak()


async def close_bleak() -> None:
    """bleak keeps one D-Bus connection per event loop for the process's life: close it with
    the test's loop (else the socket leaks into a later test as a ResourceWarning)."""
    from bleak.backends.bluezdbus import manager

    m = manager._global_instances.pop(asyncio.get_running_loop(), None)
    bus = m._bus if m is not None else None
    if bus is not None:
        bus.disconnect()
        with contextlib.suppress(Exception):
            await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]
        if m is not None and m._bus_watcher_task is not None:
            await asyncio.wait({m._bus_watcher_task}, timeout=2)


def bond(bluez: FakeBluez, central: FakeCentral, level: int = SECURE) -> None:
    """A bond made earlier (both ends keep it)."""
    bluez.add_bond(PHONE, level)
    central.bonds[GATEWAY_ADDRESS] = level


async def test_scan_sees_the_advertisement(gateway: BleSink, central: FakeCentral) -> None:
    found = await BleakScanner.discover(
        timeout=0.5, service_uuids=[gatt.SERVICE_UUID], return_adv=True
    )
    (device, adv) = found[GATEWAY_ADDRESS]
    assert device.name == "MS-site-" and adv.local_name == "MS-site-"
    assert adv.service_uuids == [gatt.SERVICE_UUID]
    other = await BleakScanner.discover(timeout=0.3, service_uuids=[gatt.METERS.uuid])
    assert other == []  # filtered by the service UUID, as on an adapter


async def test_unbonded_phone_reads_nothing(gateway: BleSink, central: FakeCentral) -> None:
    gateway.publish(from_dict(K1_READING))
    async with BleakClient(GATEWAY_ADDRESS, timeout=5) as client:
        for spec in (gatt.METERS, gatt.READING, gatt.STATUS):
            with pytest.raises(BleakDBusError) as exc:
                await client.read_gatt_char(spec.uuid)
            assert exc.value.dbus_error == "org.bluez.Error.NotPermitted"
        with pytest.raises(BleakDBusError):
            await client.start_notify(gatt.READING.uuid, lambda _c, _d: None)
    assert not any(op == "read" for op, _u, _o in central.att_log)  # never reached gatewayd


async def test_just_works_bond_is_not_enough(
    gateway: BleSink, central: FakeCentral, bluez: FakeBluez
) -> None:
    bond(bluez, central, ENCRYPTED)
    async with BleakClient(GATEWAY_ADDRESS, timeout=5) as client:
        with pytest.raises(BleakDBusError) as exc:
            await client.read_gatt_char(gatt.METERS.uuid)
        assert exc.value.dbus_error == "org.bluez.Error.NotPermitted"


@pytest.mark.parametrize("mtu", [23, 247])
async def test_layouts_at_mtu(
    gateway: BleSink, central: FakeCentral, bluez: FakeBluez, mtu: int
) -> None:
    bond(bluez, central)
    central.mtu = mtu
    for i in range(30):
        gateway.publish(from_dict(reading(f"{10000000 + i}", i / 1000)))
    gateway.publish(from_dict(K1_READING))
    async with BleakClient(GATEWAY_ADDRESS, timeout=5) as client:
        chars = {c.uuid: c for c in client.services.characteristics.values()}
        assert set(chars) == {s.uuid for s in gatt.CHARACTERISTICS}
        assert chars[gatt.METERS.uuid].max_write_without_response_size + 3 == mtu
        assert chars[gatt.READING.uuid].properties == ["read", "notify"]
        meters = bytes(await client.read_gatt_char(gatt.METERS.uuid))
        assert len(meters) == 5 + 25 * 20  # a full page, whatever the MTU
        blobs = [o for op, u, o in central.att_log if u == gatt.METERS.uuid]
        # Read + Read Blob until a short answer: 22 (or 246) bytes per request
        assert blobs == list(range(0, 505, mtu - 1))
        page = gatt.decode_meters(meters)
        assert (page.known, page.page, len(page.records)) == (31, 0, 25)
        status = gatt.decode_status(bytes(await client.read_gatt_char(gatt.STATUS.uuid)))
        assert status.meters_known == 31
        await client.write_gatt_char(
            gatt.SELECT_METER.uuid, bytes.fromhex("99873476"), response=True
        )
        assert bytes(await client.read_gatt_char(gatt.READING.uuid)) == K1_RECORD
        with pytest.raises(BleakGATTProtocolError) as err:  # never heard
            await client.write_gatt_char(gatt.SELECT_METER.uuid, b"\x01\x02\x03\x04", response=True)
        assert err.value.code == 0x80  # BlueZ's answer to org.bluez.Error.Failed from gatewayd
        with pytest.raises(BleakGATTProtocolError) as err:
            await client.write_gatt_char(gatt.SELECT_METER.uuid, b"\x01\x02", response=True)
        assert err.value.code == BleakGATTProtocolErrorCode.INVALID_ATTRIBUTE_VALUE_LENGTH

        got: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        await client.start_notify(
            gatt.READING.uuid, lambda c, d: got.put_nowait((c.uuid, bytes(d)))
        )
        await client.start_notify(
            gatt.RAW_TELEGRAMS.uuid,
            lambda c, d: got.put_nowait((c.uuid, bytes(d))),
            bluez={"use_start_notify": False},  # AcquireNotify: a socket per characteristic
        )
        gateway.publish(from_dict(K1_READING))
        assert await asyncio.wait_for(got.get(), 5) == (gatt.READING.uuid, K1_RECORD)
        gateway.raw(K1_FRAME, -71.0)
        fragments = [(await asyncio.wait_for(got.get(), 5))[1] for _ in range(3)]
        assert gatt.join_fragments(fragments) == (0, -71, K1_FRAME)
        await client.stop_notify(gatt.RAW_TELEGRAMS.uuid)
        await client.stop_notify(gatt.READING.uuid)
    assert central.truncated == []  # every notification fit MTU - 3 even at 23


async def test_bond_survives_gateway_bluetoothd_restart(
    gateway: BleSink, central: FakeCentral, bluez: FakeBluez
) -> None:
    bond(bluez, central)
    gateway.publish(from_dict(K1_READING))
    lost = asyncio.Event()
    client = BleakClient(GATEWAY_ADDRESS, timeout=5, disconnected_callback=lambda _c: lost.set())
    await client.connect()
    await bluez.stop()
    await asyncio.wait_for(lost.wait(), 5)
    assert not client.is_connected
    await client.disconnect()  # releases bleak's connection
    await bluez.start()
    await bluez.wait(lambda: bool(bluez.apps) and bool(bluez.adverts))
    async with BleakClient(GATEWAY_ADDRESS, timeout=5) as again:
        assert bytes(await again.read_gatt_char(gatt.READING.uuid)) == K1_RECORD
