"""`gatewayd ble pair`: a pairing window, with us as BlueZ's agent printing the passkey.

A headless Pi cannot use a static passkey (the kernel's SMP picks it), so the installer runs
this on the gateway: the adapter turns pairable, BlueZ asks our DisplayOnly agent to show the
passkey, the installer types it on the phone, and the bond is MITM-protected. With
`--just-works` the agent is NoInputNoOutput (bonds are encrypted but not authenticated; only
useful with `ble.security = "encrypted"`). Afterwards the adapter is not pairable again, also
on Ctrl-C or an error; PairableTimeout makes BlueZ close the window itself if we are killed.
"""

# No `from __future__ import annotations`: dbus-fast reads `-> None` as the None object.
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from typing import Any

from dbus_fast import DBusError, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusObjectPath, DBusStr, DBusUInt16, DBusUInt32
from dbus_fast.service import ServiceInterface, dbus_method

from gatewayd.sinks.ble.bluez import (
    BLUEZ,
    DBUS,
    DBUS_PATH,
    bluez_objects,
    bluez_owner,
    call,
    connect,
)

AGENT_PATH = "/org/gatewayd/agent"
AGENT_MANAGER = "org.bluez.AgentManager1"
ADAPTER = "org.bluez.Adapter1"
DEVICE = "org.bluez.Device1"
PROPERTIES = "org.freedesktop.DBus.Properties"
REJECTED = "org.bluez.Error.Rejected"
CLOSE_TIMEOUT_S = 5.0

Out = Callable[[str], None]


def device_address(path: str) -> str:
    """/org/bluez/hci0/dev_11_22_33_44_55_66 -> 11:22:33:44:55:66."""
    tail = path.rsplit("/", 1)[-1]
    return tail[4:].replace("_", ":") if tail.startswith("dev_") else path


class PairingAgent(ServiceInterface):
    """org.bluez.Agent1: shows passkeys; accepts Just Works only with --just-works."""

    def __init__(self, out: Out, just_works: bool) -> None:
        super().__init__("org.bluez.Agent1")
        self._out = out
        self._just_works = just_works
        self._shown: set[tuple[str, int]] = set()

    def _accept_just_works(self, device: str, what: str) -> None:
        if not self._just_works:
            self._out(f"refused {what} from {device_address(device)}: passkey bonds only")
            raise DBusError(REJECTED, "this window accepts passkey bonds only")
        self._out(f"accepting {what} from {device_address(device)} (Just Works)")

    @dbus_method()
    def Release(self) -> None:
        pass

    @dbus_method()
    def RequestPinCode(self, device: DBusObjectPath) -> DBusStr:
        raise DBusError(REJECTED, "no PIN codes: LE passkey pairing only")

    @dbus_method()
    def DisplayPinCode(self, device: DBusObjectPath, pincode: DBusStr) -> None:
        self._out(f"PIN code for {device_address(device)}: {pincode}")

    @dbus_method()
    def RequestPasskey(self, device: DBusObjectPath) -> DBusUInt32:
        raise DBusError(REJECTED, "the gateway shows the passkey; type it on the phone")

    @dbus_method()
    def DisplayPasskey(
        self, device: DBusObjectPath, passkey: DBusUInt32, entered: DBusUInt16
    ) -> None:
        if (device, passkey) not in self._shown:  # BlueZ repeats it per keypress
            self._shown.add((device, passkey))
            self._out(
                f"passkey for {device_address(device)}: {passkey:06d}  (type it on the phone)"
            )

    @dbus_method()
    def RequestConfirmation(self, device: DBusObjectPath, passkey: DBusUInt32) -> None:
        self._accept_just_works(device, f"confirmation of {passkey:06d}")

    @dbus_method()
    def RequestAuthorization(self, device: DBusObjectPath) -> None:
        self._accept_just_works(device, "pairing")

    @dbus_method()
    def AuthorizeService(self, device: DBusObjectPath, uuid: DBusStr) -> None:
        pass

    @dbus_method()
    def Cancel(self) -> None:
        self._out("BlueZ cancelled the pairing request")


class BondWatcher:
    """Prints each device that turns Bonded while the window is open."""

    def __init__(self, bus: MessageBus, out: Out) -> None:
        self._bus = bus
        self._out = out
        self._seen: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    rules = (
        f"type='signal',sender='{BLUEZ}',interface='{PROPERTIES}',member='PropertiesChanged',"
        f"arg0='{DEVICE}'",
        f"type='signal',sender='{BLUEZ}',interface='org.freedesktop.DBus.ObjectManager',"
        "member='InterfacesAdded'",
    )

    def on_message(self, msg: Message) -> None:
        if msg.message_type != MessageType.SIGNAL or not msg.body:
            return
        props: dict[str, Variant] = {}
        path = str(msg.path)
        if msg.member == "PropertiesChanged" and msg.body[0] == DEVICE:
            props = msg.body[1]
        elif msg.member == "InterfacesAdded":
            path = str(msg.body[0])
            props = msg.body[1].get(DEVICE, {})
        bonded = props.get("Bonded")
        if bonded is not None and bonded.value is True and path not in self._seen:
            self._seen.add(path)
            task = asyncio.get_running_loop().create_task(self._report(path))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _report(self, path: str) -> None:
        name = ""
        with contextlib.suppress(Exception):
            (props,) = await call(self._bus, BLUEZ, path, PROPERTIES, "GetAll", "s", [DEVICE])
            if "Name" in props:
                name = f" ({props['Name'].value})"
        self._out(f"bonded: {device_address(path)}{name}")


async def _set_adapter(bus: MessageBus, path: str, name: str, sig: str, value: Any) -> None:
    await call(bus, BLUEZ, path, PROPERTIES, "Set", "ssv", [ADAPTER, name, Variant(sig, value)])


async def pairing_window(
    seconds: int,
    just_works: bool,
    adapter: str = "hci0",
    out: Out = print,
    err: Out = lambda s: print(s, file=sys.stderr),
    bus_address: str | None = None,
) -> int:
    """Open the window, serve as agent until `seconds` pass (or SIGTERM/cancel), close it."""
    path = f"/org/bluez/{adapter}"
    try:
        bus = await connect(bus_address)
    except Exception as exc:
        err(f"gatewayd ble pair: cannot reach the system D-Bus: {exc}")
        return 1
    try:
        if await bluez_owner(bus) is None:
            err("gatewayd ble pair: BlueZ (bluetoothd) is not running")
            return 1
        adapter_props = (await bluez_objects(bus)).get(path, {}).get(ADAPTER)
        if adapter_props is None:
            err(f"gatewayd ble pair: no Bluetooth adapter {adapter}")
            return 1
        if not adapter_props["Powered"].value:
            err(f"gatewayd ble pair: adapter {adapter} is powered off")
            return 1
        old_timeout = adapter_props.get("PairableTimeout", Variant("u", 0)).value
        capability = "NoInputNoOutput" if just_works else "DisplayOnly"
        bus.export(AGENT_PATH, PairingAgent(out, just_works))
        watcher = BondWatcher(bus, out)
        bus.add_message_handler(watcher.on_message)
        for rule in watcher.rules:
            await call(bus, DBUS, DBUS_PATH, DBUS, "AddMatch", "s", [rule])
        await call(
            bus, BLUEZ, "/org/bluez", AGENT_MANAGER, "RegisterAgent", "os", [AGENT_PATH, capability]
        )
        try:
            await call(
                bus, BLUEZ, "/org/bluez", AGENT_MANAGER, "RequestDefaultAgent", "o", [AGENT_PATH]
            )
            await _set_adapter(bus, path, "PairableTimeout", "u", seconds)
            await _set_adapter(bus, path, "Pairable", "b", True)
            kind = "Just Works" if just_works else "passkey"
            out(f"pairing window open on {adapter} for {seconds} s ({kind}); Ctrl-C closes it")
            await _wait(seconds)
            return 0
        finally:
            await _close(bus, path, old_timeout, out, err, adapter)
    except DBusError as exc:
        err(f"gatewayd ble pair: BlueZ refused: {exc.text or exc.type}")
        return 1
    finally:
        bus.disconnect()


async def _wait(seconds: float) -> None:
    """Sleep through the window; SIGTERM ends it early like Ctrl-C does."""
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, done.set)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await done.wait()
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGTERM)


async def _close(
    bus: MessageBus, path: str, old_timeout: int, out: Out, err: Out, adapter: str
) -> None:
    """Not pairable again and no longer the agent, whatever ended the window."""

    async def steps() -> None:
        await _set_adapter(bus, path, "Pairable", "b", False)
        with contextlib.suppress(DBusError):
            await _set_adapter(bus, path, "PairableTimeout", "u", old_timeout)
        with contextlib.suppress(DBusError):
            await call(
                bus, BLUEZ, "/org/bluez", AGENT_MANAGER, "UnregisterAgent", "o", [AGENT_PATH]
            )

    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await steps()
    except Exception as exc:
        err(f"gatewayd ble pair: could not close the window cleanly: {exc}")
        return
    out(f"pairing window closed: {adapter} is not pairable")
