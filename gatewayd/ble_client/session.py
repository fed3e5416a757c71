"""A phone's session with a gateway, on BlueZ through bleak: find it, connect, pair, read the
characteristics of docs/ble.md, subscribe. bleak is imported here only (the `ble-client` extra).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gatewayd.errors import ConfigurationError, SinkError
from gatewayd.sinks.ble import gatt, telemetry
from gatewayd.wmbus.link import id_bytes

if TYPE_CHECKING:
    from bleak import BleakClient

NOT_PAIRED_HINT = (
    "the gateway refused: this machine has no bond with it (open a window with "
    "`sudo gatewayd ble pair` on the gateway, then run this again with --pair)"
)


class BleClientError(SinkError):
    """The gateway could not be reached or refused a request (exit 1)."""


class BleClientMissing(ConfigurationError):
    """bleak is not installed (exit 2)."""


def _bleak() -> Any:
    try:
        import bleak  # noqa: PLC0415
    except ImportError:
        raise BleClientMissing(
            "the BLE client needs bleak: pip install 'gatewayd[ble-client]'"
        ) from None
    return bleak


@dataclass(frozen=True, slots=True)
class Found:
    address: str
    name: str | None
    rssi: int | None


async def scan(seconds: float, adapter: str | None = None) -> list[Found]:
    """Gateways advertising the gatewayd service, strongest first."""
    bleak = _bleak()
    kwargs: dict[str, Any] = {"bluez": {"adapter": adapter}} if adapter else {}
    try:
        seen = await bleak.BleakScanner.discover(
            timeout=seconds, service_uuids=[gatt.SERVICE_UUID], return_adv=True, **kwargs
        )
    except bleak.exc.BleakError as exc:
        raise BleClientError(f"cannot scan: {exc}") from None
    found = [Found(dev.address, adv.local_name or dev.name, adv.rssi) for dev, adv in seen.values()]
    return sorted(found, key=lambda f: -(f.rssi if f.rssi is not None else -999))


def _explain(exc: Exception, what: str) -> BleClientError:
    bleak = _bleak()
    if isinstance(exc, bleak.exc.BleakDBusError):
        if exc.dbus_error == "org.bluez.Error.NotPermitted":
            return BleClientError(f"{what}: {NOT_PAIRED_HINT}")
        if exc.dbus_error.startswith("org.bluez.Error.Authentication"):
            return BleClientError(
                f"{what}: pairing failed ({exc.dbus_error.rsplit('.', 1)[-1]}): is a pairing "
                "window open on the gateway, and was the passkey typed right?"
            )
        return BleClientError(f"{what}: {exc.dbus_error}: {exc.dbus_error_details or ''}")
    if isinstance(exc, bleak.exc.BleakGATTProtocolError):
        return BleClientError(f"{what}: the gateway answered ATT error 0x{exc.code:02x}")
    if isinstance(exc, TimeoutError):
        return BleClientError(f"{what}: timed out")
    return BleClientError(f"{what}: {exc}")


class GatewayLink:
    """One connection to one gateway; each method raises BleClientError with a clear reason."""

    def __init__(self, client: BleakClient) -> None:
        self._client = client

    @property
    def address(self) -> str:
        return str(self._client.address)

    @property
    def mtu(self) -> int:
        """ATT_MTU of the link, from BlueZ's MTU property of a characteristic."""
        ch = self._client.services.get_characteristic(gatt.METERS.uuid)
        return int(ch.max_write_without_response_size) + 3 if ch is not None else 23

    async def _read(self, spec: gatt.CharSpec) -> bytes:
        try:
            return bytes(await self._client.read_gatt_char(spec.uuid))
        except Exception as exc:
            raise _explain(exc, f"reading {spec.name}") from None

    async def _write(self, spec: gatt.CharSpec, value: bytes) -> None:
        try:
            await self._client.write_gatt_char(spec.uuid, value, response=True)
        except Exception as exc:
            raise _explain(exc, f"writing {spec.name}") from None

    async def pair(self) -> None:
        try:
            await self._client.pair()
        except Exception as exc:
            raise _explain(exc, "pairing") from None

    async def status(self) -> gatt.StatusValue:
        return gatt.decode_status(await self._read(gatt.STATUS))

    async def meters(self, page: int = 0) -> gatt.MetersPage:
        if page:
            await self._write(gatt.SELECT_METER, bytes((page,)))
        return gatt.decode_meters(await self._read(gatt.METERS))

    async def all_meters(self) -> list[gatt.MetersPage]:
        first = await self.meters(0)
        pages = [first]
        for p in range(1, gatt.page_count(first.known)):
            pages.append(await self.meters(p))
        return pages

    async def reading(self, meter_id: str | None) -> gatt.ReadingRecord | None:
        """Select `meter_id` (None: no selection, the latest of any meter) and read Reading."""
        if meter_id is not None:
            await self._write(gatt.SELECT_METER, id_bytes(meter_id))
        value = await self._read(gatt.READING)
        return gatt.decode_record(value) if value else None

    async def listen(
        self,
        seconds: float,
        on_reading: Callable[[gatt.ReadingRecord], None],
        on_raw: Callable[[int, int | None, bytes], None],
    ) -> None:
        """Subscribe to Reading and Raw telegrams for `seconds`; raw fragments joined."""
        pieces: list[bytes] = []

        def reading_cb(_char: Any, data: bytearray) -> None:
            with contextlib.suppress(ValueError):
                on_reading(gatt.decode_record(bytes(data)))

        def raw_cb(_char: Any, data: bytearray) -> None:
            frag = bytes(data)
            if len(frag) < 2:
                return
            if frag[1] & 0x7F == 0:
                pieces.clear()
            pieces.append(frag)
            if frag[1] & telemetry.FRAGMENT_LAST:
                with contextlib.suppress(ValueError):  # a lost fragment: drop that telegram
                    on_raw(*gatt.join_fragments(pieces))
                pieces.clear()

        try:
            await self._client.start_notify(gatt.READING.uuid, reading_cb)
            await self._client.start_notify(gatt.RAW_TELEGRAMS.uuid, raw_cb)
        except Exception as exc:
            raise _explain(exc, "subscribing") from None
        await asyncio.sleep(seconds)
        for spec in (gatt.READING, gatt.RAW_TELEGRAMS):
            with contextlib.suppress(Exception):
                await self._client.stop_notify(spec.uuid)


async def find_one(address: str | None, seconds: float, adapter: str | None) -> str:
    """The address to connect to: the given one, or the only gateway a scan finds."""
    if address:
        return address
    found = await scan(seconds, adapter)
    if not found:
        raise BleClientError(f"no gateway advertising the gatewayd service within {seconds:g} s")
    if len(found) > 1:
        listed = ", ".join(f"{f.address} ({f.name})" for f in found)
        raise BleClientError(f"several gateways found, name one: {listed}")
    return found[0].address


@contextlib.asynccontextmanager
async def connected(
    address: str,
    timeout: float = 20.0,
    adapter: str | None = None,
    on_lost: Callable[[], None] | None = None,
) -> AsyncIterator[GatewayLink]:
    bleak = _bleak()
    kwargs: dict[str, Any] = {"bluez": {"adapter": adapter}} if adapter else {}
    client = bleak.BleakClient(
        address,
        timeout=timeout,
        disconnected_callback=(lambda _c: on_lost()) if on_lost else None,
        **kwargs,
    )
    try:
        await client.connect()
    except Exception as exc:
        raise _explain(exc, f"connecting to {address}") from None
    try:
        yield GatewayLink(client)
    finally:
        with contextlib.suppress(Exception):
            await client.disconnect()
