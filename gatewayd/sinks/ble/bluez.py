"""Keeps our GATT application and advertisement registered with BlueZ, whatever happens to it.

One supervisor loop per system-bus connection (fresh objects each time). Inside a connection
the registrar reconciles with what it sees: is org.bluez owned (NameOwnerChanged), does the
adapter export GattManager1 (InterfacesAdded/InterfacesRemoved, plus a slow poll while BlueZ
is up but the adapter is not), and are we registered. Every state change is one log line; a
machine without BlueZ or without an adapter logs once and idles.

BlueZ deletes our registrations itself when our connection drops, and loses them when
bluetoothd restarts or the adapter goes away; registering again is all it takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable
from typing import Any

from dbus_fast import BusType, DBusError, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from gatewayd.sinks.ble.objects import ADV_PATH, APP_PATH, Application
from gatewayd.tasks import cancel_and_wait

log = logging.getLogger(__name__)

BLUEZ = "org.bluez"
DBUS = "org.freedesktop.DBus"
DBUS_PATH = "/org/freedesktop/DBus"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
GATT_MANAGER = "org.bluez.GattManager1"
ADAPTER = "org.bluez.Adapter1"
PROPERTIES = "org.freedesktop.DBus.Properties"
ADV_MANAGER = "org.bluez.LEAdvertisingManager1"
CALL_TIMEOUT_S = 25.0

_MATCHES = (
    f"type='signal',sender='{DBUS}',interface='{DBUS}',member='NameOwnerChanged',arg0='{BLUEZ}'",
    f"type='signal',sender='{BLUEZ}',interface='{OBJECT_MANAGER}'",
)


class BleState(enum.Enum):
    STARTING = "starting"
    NO_BUS = "no system bus"
    NO_BLUEZ = "BlueZ (org.bluez) is not running; BLE idle until it appears"
    NO_ADAPTER = "adapter not present; BLE idle until it appears"
    REGISTERED = "registered"
    FAILED = "registration failed; retrying"
    STOPPED = "stopped"


async def call(
    bus: MessageBus,
    dest: str,
    path: str,
    iface: str,
    member: str,
    signature: str = "",
    body: list[Any] | None = None,
) -> list[Any]:
    """One method call with a timeout; a D-Bus error reply raises DBusError."""
    if not bus.connected:  # dbus-fast would queue it on a dead socket
        raise DBusError("org.freedesktop.DBus.Error.Disconnected", "not connected")
    msg = Message(
        destination=dest,
        path=path,
        interface=iface,
        member=member,
        signature=signature,
        body=body or [],
    )
    # asyncio.timeout, not wait_for: Python 3.11's wait_for returns the reply when a cancel
    # arrives with it, swallowing the cancel, and stop() then waited for the task forever.
    async with asyncio.timeout(CALL_TIMEOUT_S):
        reply = await bus.call(msg)
    if reply.message_type == MessageType.ERROR:
        text = reply.body[0] if reply.body and isinstance(reply.body[0], str) else ""
        raise DBusError(reply.error_name or "org.freedesktop.DBus.Error.Failed", text)
    return list(reply.body)


async def bluez_owner(bus: MessageBus) -> str | None:
    try:
        (owner,) = await call(
            bus, DBUS, "/org/freedesktop/DBus", DBUS, "GetNameOwner", "s", [BLUEZ]
        )
    except DBusError:
        return None
    return str(owner)


async def bluez_objects(bus: MessageBus) -> dict[str, dict[str, Any]]:
    (objects,) = await call(bus, BLUEZ, "/", OBJECT_MANAGER, "GetManagedObjects")
    return dict(objects)


async def connect(address: str | None) -> MessageBus:
    if address:
        return await MessageBus(bus_address=address).connect()
    return await MessageBus(bus_type=BusType.SYSTEM).connect()


class Registrar:
    """Owns the bus connection and the registrations; `app` is the current session's objects."""

    def __init__(
        self,
        adapter_path: str,
        make_app: Callable[[Callable[[], None]], Application],
        bus_address: str | None = None,
        retry_s: float = 10.0,
    ) -> None:
        self.adapter_path = adapter_path
        self._make_app = make_app
        self._address = bus_address
        self._retry_s = retry_s
        self.app: Application | None = None
        self.state = BleState.STARTING
        self.registrations = 0  # successful RegisterApplication calls, for stats and tests
        self._bus: MessageBus | None = None
        self._kick = asyncio.Event()
        self._app_registered = False
        self._adv_registered = False
        self._generation = 0  # bumped whenever BlueZ may have forgotten us

    # ---- state ----

    def _set_state(self, state: BleState, detail: str = "", again: bool = False) -> None:
        """One log line per change (`again`: the same state reached anew, e.g. re-registered)."""
        if state is self.state and not again:
            return
        self.state = state
        level = logging.WARNING if state in (BleState.FAILED, BleState.NO_BUS) else logging.INFO
        where = f" ({self.adapter_path})" if state is not BleState.NO_BUS else ""
        log.log(level, "BLE%s: %s%s", where, state.value, f": {detail}" if detail else "")

    def _forget(self) -> None:
        """BlueZ lost our registrations (restart, adapter removed, advertisement released)."""
        self._generation += 1
        self._app_registered = self._adv_registered = False
        if self.app is not None:
            self.app.reset_notifications()
        self._kick.set()

    @property
    def registered(self) -> bool:
        return self.state is BleState.REGISTERED

    # ---- supervisor ----

    async def run(self) -> None:
        """Connect, serve, and reconnect with fresh objects for as long as the task lives."""
        while True:
            try:
                bus = await connect(self._address)
            except Exception as exc:  # no socket, refused, auth: all mean "no bus yet"
                self._set_state(BleState.NO_BUS, str(exc) or type(exc).__name__)
                await asyncio.sleep(self._retry_s)
                continue
            self._bus = bus
            try:
                await self._session(bus)
            except asyncio.CancelledError:
                raise  # stop(): it unregisters, then closes the connection
            except Exception as exc:  # a bug or an odd reply must not end BLE for good
                log.exception("BLE: session failed")
                self._set_state(BleState.NO_BUS, f"session ended: {exc}")
            self.app = None
            bus.disconnect()
            self._bus = None
            self._forget()
            self._set_state(BleState.NO_BUS, "connection lost")
            await asyncio.sleep(self._retry_s)

    async def _session(self, bus: MessageBus) -> None:
        self._app_registered = self._adv_registered = False
        app = self._make_app(self._released)
        app.export(bus)
        self.app = app
        bus.add_message_handler(self._on_message)
        for rule in _MATCHES:
            await call(bus, DBUS, DBUS_PATH, DBUS, "AddMatch", "s", [rule])
        self._kick.set()
        gone = asyncio.ensure_future(bus.wait_for_disconnect())  # type: ignore[no-untyped-call]
        try:
            while True:
                poll = (
                    self._retry_s if self.state in (BleState.NO_ADAPTER, BleState.FAILED) else None
                )
                kicked = asyncio.ensure_future(self._kick.wait())
                done, _ = await asyncio.wait(
                    {gone, kicked}, timeout=poll, return_when=asyncio.FIRST_COMPLETED
                )
                kicked.cancel()
                if gone in done:
                    with contextlib.suppress(Exception):
                        gone.result()
                    return
                self._kick.clear()
                await self._reconcile(bus)
        finally:
            gone.cancel()
            bus.remove_message_handler(self._on_message)

    def _released(self) -> None:
        self._adv_registered = False
        self._kick.set()

    def _on_message(self, msg: Message) -> None:
        if msg.message_type != MessageType.SIGNAL:
            return
        if msg.member == "NameOwnerChanged" and msg.body and msg.body[0] == BLUEZ:
            self._forget()
        elif msg.member == "InterfacesAdded" and msg.body and msg.body[0] == self.adapter_path:
            self._kick.set()
        elif (
            msg.member == "InterfacesRemoved"
            and msg.body
            and msg.body[0] == self.adapter_path
            and (GATT_MANAGER in msg.body[1] or ADV_MANAGER in msg.body[1])
        ):
            self._forget()

    async def _reconcile(self, bus: MessageBus) -> None:
        generation = self._generation
        if await bluez_owner(bus) is None:
            self._set_state(BleState.NO_BLUEZ)
            return
        try:
            ifaces = (await bluez_objects(bus)).get(self.adapter_path, {})
            if GATT_MANAGER not in ifaces:
                self._set_state(BleState.NO_ADAPTER)
                return
            registering = not self._app_registered
            if registering:
                await self._not_pairable(bus, ifaces.get(ADAPTER, {}))
            if not self._app_registered:
                await call(
                    bus,
                    BLUEZ,
                    self.adapter_path,
                    GATT_MANAGER,
                    "RegisterApplication",
                    "oa{sv}",
                    [APP_PATH, {}],
                )
                self._app_registered = generation == self._generation
                self.registrations += 1
            if ADV_MANAGER in ifaces and not self._adv_registered:
                await call(
                    bus,
                    BLUEZ,
                    self.adapter_path,
                    ADV_MANAGER,
                    "RegisterAdvertisement",
                    "oa{sv}",
                    [ADV_PATH, {}],
                )
                self._adv_registered = generation == self._generation
        except DBusError as exc:
            if exc.type == "org.bluez.Error.AlreadyExists":
                # BlueZ holds what we registered on this connection before a spurious
                # generation bump: that is the state we want, not a failure to retry forever
                if not self._app_registered:
                    self._app_registered = True  # RegisterApplication raised it
                else:
                    self._adv_registered = True
                self._kick.set()
                return
            self._set_state(BleState.FAILED, exc.text or exc.type)
            return
        except TimeoutError as exc:
            self._set_state(BleState.FAILED, str(exc) or type(exc).__name__)
            return
        if generation != self._generation:
            self._kick.set()  # BlueZ changed under us: look again
            return
        note = "" if ADV_MANAGER in ifaces else "no LEAdvertisingManager1, not advertising"
        self._set_state(BleState.REGISTERED, note, again=registering)

    async def _not_pairable(self, bus: MessageBus, adapter: dict[str, Any]) -> None:
        """New bonds only inside `gatewayd ble pair`: an adapter left pairable (BlueZ's
        AlwaysPairable, a window whose command was killed before PairableTimeout) would take
        Just Works bonds from anyone in range. Done at start and after every BlueZ restart."""
        pairable = adapter.get("Pairable")
        if pairable is None or pairable.value is not True:
            return
        try:
            await call(
                bus,
                BLUEZ,
                self.adapter_path,
                PROPERTIES,
                "Set",
                "ssv",
                [ADAPTER, "Pairable", Variant("b", False)],
            )
        except (DBusError, TimeoutError) as exc:
            log.warning("BLE (%s): could not turn Pairable off: %s", self.adapter_path, exc)
            return
        log.info(
            "BLE (%s): adapter was pairable; Pairable turned off (bonds only in "
            "`gatewayd ble pair`)",
            self.adapter_path,
        )

    async def stop(self, task: asyncio.Task[None], timeout: float) -> None:
        """Cancel the supervisor, unregister cleanly within `timeout`, close the connection."""
        bus = self._bus
        await cancel_and_wait(task)
        if bus is not None and bus.connected:
            if self.state is not BleState.NO_BLUEZ:
                try:
                    async with asyncio.timeout(timeout):
                        await self._unregister(bus)
                except Exception as exc:
                    log.warning("BLE: could not unregister: %r", exc)
            bus.disconnect()  # also while BlueZ is away: the connection is ours to close
        self._set_state(BleState.STOPPED)

    async def _unregister(self, bus: MessageBus) -> None:
        """Both, whatever we believe: a stop may have cut a registration short after BlueZ
        accepted it. BlueZ answers DoesNotExist for what it does not hold."""
        for iface, member, path in (
            (ADV_MANAGER, "UnregisterAdvertisement", ADV_PATH),
            (GATT_MANAGER, "UnregisterApplication", APP_PATH),
        ):
            with contextlib.suppress(DBusError):
                await call(bus, BLUEZ, self.adapter_path, iface, member, "o", [path])
