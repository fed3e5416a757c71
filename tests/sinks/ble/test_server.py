"""The GATT server against a fake bluetoothd on a private dbus-daemon (BlueZ's view of it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import pytest
from dbus_fast import DBusError

from gatewayd.meters.model import Reading, from_dict
from gatewayd.sinks.ble import BleSettings, BleSink, gatt
from gatewayd.sinks.ble.bluez import BleState
from tests.sinks.ble.conftest import start_dbus_daemon, stop_dbus_daemon
from tests.sinks.ble.fake_bluez import BLUEZ_FLAGS, CHAR, SERVICE, FakeBluez, legacy_adv_size
from tests.sinks.ble.test_gatt import K1_FRAME, K1_READING

# K1's record worked out by hand from the record layout in docs/ble.md (its example).
K1_RECORD = bytes.fromhex("01 99873476 08190000 7ef0076b 0100 ffff 7f 13 b9")
PLAIN_FLAGS = {"read", "write", "notify", "write-without-response", "indicate"}


def reading(meter_id: str, total_m3: float, **more: Any) -> dict[str, Any]:
    return {"id": meter_id, "total_m3": total_m3, "timestamp": "2026-11-26T08:00:00Z", **more}


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


@pytest.fixture
async def make_sink(dbus_address: str) -> AsyncIterator[Callable[..., BleSink]]:
    """Build sinks on the private bus (retry every 0.1 s); whatever a test leaves running
    is stopped afterwards."""
    sinks: list[BleSink] = []

    def make(stats: Any = None, **kw: Any) -> BleSink:
        settings = BleSettings(
            gateway_id="site-17", bus_address=kw.pop("bus_address", dbus_address), retry_s=0.1, **kw
        )
        sink = BleSink(settings, stats)
        sinks.append(sink)
        return sink

    yield make
    for s in sinks:
        await s.stop(1.0)


@pytest.fixture
async def sink(make_sink: Any, bluez: FakeBluez) -> AsyncIterator[BleSink]:
    s: BleSink = make_sink()
    await s.start()
    await bluez.wait(lambda: bool(bluez.apps) and bool(bluez.adverts))
    await until(lambda: s.state is BleState.REGISTERED)
    yield s
    await s.stop(2.0)


@pytest.mark.parametrize("security", ["authenticated", "encrypted"])
async def test_registered_tree_and_flags(make_sink: Any, bluez: FakeBluez, security: str) -> None:
    s = make_sink(security=security)
    await s.start()
    await bluez.wait(lambda: bool(bluez.apps) and bool(bluez.adverts))
    tree = bluez.app().objects
    services = {p: i[SERVICE] for p, i in tree.items() if SERVICE in i}
    assert list(services.values()) == [{"UUID": gatt.SERVICE_UUID, "Primary": True}]
    chars = {i[CHAR]["UUID"]: i[CHAR] for i in tree.values() if CHAR in i}
    level = "secure-" if security == "authenticated" else "encrypt-"
    expected = {
        gatt.METERS.uuid: [level + "read"],
        gatt.READING.uuid: [level + "read", level + "notify"],
        gatt.SELECT_METER.uuid: [level + "write"],
        gatt.RAW_TELEGRAMS.uuid: [level + "notify"],
        gatt.STATUS.uuid: [level + "read"],
    }
    assert {u: c["Flags"] for u, c in chars.items()} == expected
    for c in chars.values():
        assert c["Service"] in services
        assert set(c["Flags"]) <= BLUEZ_FLAGS and not set(c["Flags"]) & PLAIN_FLAGS
        notifying = any(f.endswith("notify") for f in c["Flags"])
        assert ("Notifying" in c) == notifying and ("Value" in c) == notifying
    (adv,) = bluez.adverts.values()
    assert adv["Type"] == "peripheral"
    assert adv["ServiceUUIDs"] == [gatt.SERVICE_UUID]
    assert adv["LocalName"] == "MS-site-"
    assert adv["Discoverable"] is True
    assert legacy_adv_size(adv) == 31  # 3 flags + 18 UUID + 2 + 8 name: exactly the limit
    await s.stop(2.0)
    await bluez.wait(
        lambda: {"UnregisterApplication", "UnregisterAdvertisement"} <= {*bluez.events}
    )
    assert not bluez.apps and not bluez.adverts
    assert s.state is BleState.STOPPED


async def test_read_select_and_long_read(sink: BleSink, bluez: FakeBluez) -> None:
    assert await bluez.read(gatt.READING.uuid) == b""  # nothing heard yet
    sink.publish(from_dict(K1_READING))
    assert await bluez.read(gatt.READING.uuid) == K1_RECORD
    assert await bluez.read(gatt.READING.uuid, offset=13) == K1_RECORD[13:]
    for i in range(30):
        sink.publish(from_dict(reading(f"{10000000 + i}", i / 1000)))
    # the latest published is what an unselected phone reads
    assert gatt.decode_record(await bluez.read(gatt.READING.uuid)).meter_id == "10000029"
    await bluez.write(gatt.SELECT_METER.uuid, bytes.fromhex("99873476"))
    assert await bluez.read(gatt.READING.uuid) == K1_RECORD
    other = "/org/bluez/hci0/dev_AA_AA_AA_AA_AA_AA"
    assert await bluez.read(gatt.READING.uuid, device=other) != K1_RECORD  # per phone

    # Meters at MTU 23: 505 bytes in Read + Read Blob; a reading published between blobs
    # must not tear the value.
    blobs = iter(range(1, 100))
    value = await bluez.long_read(
        gatt.METERS.uuid, between=lambda: sink.publish(from_dict(reading("10000024", next(blobs))))
    )
    assert len(value) == 5 + 25 * 20
    page = gatt.decode_meters(value)
    assert (page.known, page.page, len(page.records)) == (31, 0, 25)
    ids = [gatt.decode_record(r).meter_id for r in page.records]
    assert ids == sorted(ids) and ids[0] == "10000000"
    assert gatt.decode_record(page.records[ids.index("10000024")]).total_l == 24  # not torn
    assert "76348799" not in ids  # on page 1
    fresh = gatt.decode_meters(await bluez.long_read(gatt.METERS.uuid, mtu=247))
    assert gatt.decode_record(fresh.records[24]).total_l == (next(blobs) - 1) * 1000
    await bluez.write(gatt.SELECT_METER.uuid, b"\x01")
    page1 = gatt.decode_meters(await bluez.long_read(gatt.METERS.uuid, mtu=247))
    assert page1.page == 1 and len(page1.records) == 6
    assert page1.records[-1] == K1_RECORD


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (bytes.fromhex("123456"), "org.bluez.Error.InvalidValueLength"),
        (bytes.fromhex("01020304"), "org.bluez.Error.Failed"),  # never heard
        (b"\x05", "org.bluez.Error.Failed"),  # no such page
    ],
)
async def test_bad_writes(sink: BleSink, bluez: FakeBluez, value: bytes, error: str) -> None:
    sink.publish(from_dict(K1_READING))
    with pytest.raises(DBusError) as exc:
        await bluez.write(gatt.SELECT_METER.uuid, value)
    assert exc.value.type == error


async def test_read_past_the_end(sink: BleSink, bluez: FakeBluez) -> None:
    sink.publish(from_dict(K1_READING))
    with pytest.raises(DBusError) as exc:
        await bluez.read(gatt.READING.uuid, offset=21)
    assert exc.value.type == "org.bluez.Error.InvalidOffset"
    assert await bluez.read(gatt.READING.uuid, offset=20) == b""


async def test_notifications(sink: BleSink, bluez: FakeBluez) -> None:
    sink.publish(from_dict(K1_READING))  # nobody subscribed: no notification
    await bluez.notify(gatt.READING.uuid, True)
    assert (await bluez.char_props(gatt.READING.uuid))["Notifying"] is True
    sink.publish(from_dict(K1_READING))
    path, value = await asyncio.wait_for(bluez.notifications.get(), 5)
    assert value == K1_RECORD
    assert path == bluez.app().char_path(gatt.READING.uuid)
    await bluez.notify(gatt.READING.uuid, False)
    sink.publish(from_dict(reading("12345678", 1.0)))
    await bluez.read(gatt.READING.uuid)  # a round trip: a notification would have come first
    assert bluez.notifications.empty()
    assert sink.stats()["notifications"] == 1 and sink.stats()["readings"] == 3


async def test_raw_telegrams(sink: BleSink, bluez: FakeBluez) -> None:
    sink.raw(K1_FRAME, -71.0)  # not subscribed: dropped
    await bluez.notify(gatt.RAW_TELEGRAMS.uuid, True)
    sink.raw(K1_FRAME, -71.0)
    sink.raw(bytes(range(60)), None)
    got = [(await asyncio.wait_for(bluez.notifications.get(), 5))[1] for _ in range(3 + 4)]
    assert all(len(f) <= 20 for f in got)
    assert gatt.join_fragments(got[:3]) == (0, -71, K1_FRAME)
    assert gatt.join_fragments(got[3:]) == (1, None, bytes(range(60)))


async def test_status(make_sink: Any, bluez: FakeBluez) -> None:
    stats = {"uptime_s": 3723, "radio_state": "up", "frames": 900, "decoded": 880, "published": 12}
    s = make_sink(stats=lambda: stats)
    await s.start()
    await bluez.wait(lambda: bool(bluez.apps))
    s.publish(from_dict(K1_READING))
    st = gatt.decode_status(await bluez.long_read(gatt.STATUS.uuid))
    assert st.uptime_s == 3723 and st.radio_state == "up" and st.meters_known == 1
    assert st.counters["frames"] == 900 and st.counters["published"] == 12
    assert st.counters["bad_crc"] is None
    from gatewayd import __version__

    assert ".".join(map(str, st.software)) == __version__
    await s.stop(2.0)


async def test_bad_reading_is_counted_not_raised(sink: BleSink) -> None:
    # Not Readings at all (a typed Reading always has a valid id): still never raised.
    sink.publish(cast(Reading, {"manufacturer": "KAM"}))
    sink.publish(cast(Reading, {"id": "not-an-id"}))
    assert sink.stats()["bad_readings"] == 2


async def test_bluetoothd_restart(sink: BleSink, bluez: FakeBluez) -> None:
    await bluez.notify(gatt.READING.uuid, True)
    await bluez.stop()
    await until(lambda: sink.state is BleState.NO_BLUEZ)
    await bluez.start()
    await bluez.wait(lambda: bool(bluez.apps) and bool(bluez.adverts))
    await until(lambda: sink.state is BleState.REGISTERED)
    assert sink.stats()["registrations"] == 2
    # the new bluetoothd has no subscribers: nothing is notified until a phone subscribes
    assert (await bluez.char_props(gatt.READING.uuid))["Notifying"] is False
    sink.publish(from_dict(K1_READING))
    assert await bluez.read(gatt.READING.uuid) == K1_RECORD


async def test_adapter_removed_and_back(sink: BleSink, bluez: FakeBluez) -> None:
    bluez.remove_adapter()
    await until(lambda: sink.state is BleState.NO_ADAPTER)
    bluez.add_adapter()
    await bluez.wait(lambda: bool(bluez.apps) and bool(bluez.adverts))
    await until(lambda: sink.state is BleState.REGISTERED)


async def test_idle_without_bluez_then_adapter_late(
    make_sink: Any, dbus_address: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gatewayd.sinks.ble")
    s = make_sink()
    await s.start()
    await until(lambda: s.state is BleState.NO_BLUEZ)
    s.publish(from_dict(K1_READING))
    s.raw(K1_FRAME, -70)
    await asyncio.sleep(0.5)  # five retry periods
    fake = FakeBluez(dbus_address)
    await fake.start(with_adapter=False)  # bluetoothd up, hci0 not yet
    try:
        await until(lambda: s.state is BleState.NO_ADAPTER)
        await asyncio.sleep(0.5)
        fake.add_adapter()
        await fake.wait(lambda: bool(fake.apps))
        await until(lambda: s.state is BleState.REGISTERED)
        assert await fake.read(gatt.READING.uuid) == K1_RECORD
    finally:
        await s.stop(2.0)
        await fake.stop()
    lines = [r.getMessage() for r in caplog.records]
    assert sum("not running" in m for m in lines) == 1
    assert sum("adapter not present" in m for m in lines) == 1
    assert sum("registered" in m for m in lines) == 1


async def test_registration_refused_then_retried(make_sink: Any, bluez: FakeBluez) -> None:
    bluez.reject_apps = "Failed to register application"
    s = make_sink()
    await s.start()
    await until(lambda: s.state is BleState.FAILED)
    bluez.reject_apps = None
    await bluez.wait(lambda: bool(bluez.apps))
    await until(lambda: s.state is BleState.REGISTERED)
    await s.stop(2.0)


async def test_no_system_bus(
    make_sink: Any, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gatewayd.sinks.ble")
    s = make_sink(bus_address=f"unix:path={tmp_path}/nothing")
    await s.start()
    await until(lambda: s.state is BleState.NO_BUS)
    s.publish(from_dict(K1_READING))
    await asyncio.sleep(0.3)
    await s.stop(1.0)
    assert sum("no system bus" in r.getMessage() for r in caplog.records) == 1


async def test_system_bus_restart(make_sink: Any, tmp_path: Any) -> None:
    """dbus-daemon itself goes away and comes back: reconnect with fresh objects, register."""
    proc, _ = start_dbus_daemon(tmp_path)
    address = f"unix:path={tmp_path}/bus"
    s = make_sink(bus_address=address)
    fake = FakeBluez(address)
    try:
        await fake.start()
        await s.start()
        await fake.wait(lambda: bool(fake.apps))
        stop_dbus_daemon(proc)
        await until(lambda: s.state is BleState.NO_BUS)
        s.publish(from_dict(K1_READING))
        await fake.stop()
        proc, _ = start_dbus_daemon(tmp_path)
        fake = FakeBluez(address)
        await fake.start()
        await fake.wait(lambda: bool(fake.apps) and bool(fake.adverts))
        await until(lambda: s.state is BleState.REGISTERED)
        assert await fake.read(gatt.READING.uuid) == K1_RECORD
    finally:
        await s.stop(1.0)
        await fake.stop()
        stop_dbus_daemon(proc)


def test_advertised_name_from_settings() -> None:
    assert BleSink(BleSettings(gateway_id="gw1")).local_name == "MS-gw1"
    assert BleSink(BleSettings(gateway_id="gw1", name="Pump house 3")).local_name == "Pump hou"


async def test_stop_while_bluez_is_away_closes_the_connection(
    sink: BleSink, bluez: FakeBluez
) -> None:
    bus = sink.registrar._bus
    assert bus is not None and bus.connected
    await bluez.stop()
    await until(lambda: sink.state is BleState.NO_BLUEZ)
    await sink.stop(1.0)
    assert not bus.connected  # else the socket leaks until garbage collection
    await bluez.start()  # for the fixture's teardown


async def test_meters_reading_and_status_carry_meter_health(
    make_sink: Any, bluez: FakeBluez
) -> None:
    from gatewayd.sinks.base import HealthReport

    states = {"76348799": "ok", "11223345": "never_heard"}
    stats = {
        "radio_state": "reconnecting",
        "radio_status": "waiting for /dev/wmbus0: no such device",
        "meters": {"ok": 1, "silent": 0, "never_heard": 1},
    }
    s = make_sink(stats=lambda: stats)
    s.attach_health(
        lambda: [HealthReport(i, i, st, None, None, None, 0) for i, st in states.items()]
    )
    await s.start()
    await bluez.wait(lambda: bool(bluez.apps))
    s.publish(from_dict(K1_READING))
    page = gatt.decode_meters(await bluez.long_read(gatt.METERS.uuid))
    assert page.known == 2
    assert [gatt.decode_record(r).status for r in page.records] == [0xC000, 0x0001]
    states["76348799"] = "silent"  # read again: the bits of now
    assert gatt.decode_record(await bluez.read(gatt.READING.uuid)).status == 0x2001
    st = gatt.decode_status(await bluez.long_read(gatt.STATUS.uuid))
    assert st.meters_known == 2 and st.health == {"ok": 1, "silent": 0, "never_heard": 1}
    assert st.radio_status == "waiting for /dev/wmbus0: no such device"
    await s.stop(2.0)
