"""A fake bluetoothd on a private bus, written with dbus-fast: it plays BlueZ's side of the
D-Bus contract (GattManager1, LEAdvertisingManager1, AgentManager1, Adapter1, Device1) and the
ATT bridge (ReadValue/WriteValue/StartNotify, PropertiesChanged -> notifications).

Like bluetoothd it calls back the registering connection: GetManagedObjects on the application
path (and validates the tree), Properties.GetAll on the advertisement, and the agent's methods.
It does not check ATT semantics, MTU or security enforcement: that needs a radio.
"""

# No `from __future__ import annotations`: dbus-fast reads `-> None` as the None object.
import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dbus_fast import DBusError, Message, MessageType, PropertyAccess, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusBool, DBusStr, DBusUInt32
from dbus_fast.service import ServiceInterface, dbus_property

# BlueZ 5.66 src/gatt-database.c parse_chrc_flags: every flag it accepts.
BLUEZ_FLAGS = frozenset(
    [
        "broadcast",
        "read",
        "write-without-response",
        "write",
        "notify",
        "indicate",
        "authenticated-signed-writes",
        "extended-properties",
        "reliable-write",
        "writable-auxiliaries",
        "encrypt-read",
        "encrypt-write",
        "encrypt-authenticated-read",
        "encrypt-authenticated-write",
        "secure-read",
        "secure-write",
        "authorize",
        "encrypt-notify",
        "encrypt-authenticated-notify",
        "secure-notify",
        "encrypt-indicate",
        "encrypt-authenticated-indicate",
        "secure-indicate",
    ]
)
SERVICE = "org.bluez.GattService1"
CHAR = "org.bluez.GattCharacteristic1"
ADV = "org.bluez.LEAdvertisement1"
DEVICE = "/org/bluez/hci0/dev_11_22_33_44_55_66"


class _Named(ServiceInterface):
    """An interface that only has to show up in GetManagedObjects (methods are intercepted)."""


class Adapter(ServiceInterface):
    def __init__(self, log: list[tuple[str, Any]]) -> None:
        super().__init__("org.bluez.Adapter1")
        self._props: dict[str, Any] = {"Powered": True, "Pairable": False, "PairableTimeout": 0}
        self._log = log

    def _set(self, name: str, value: Any) -> None:
        self._props[name] = value
        self._log.append((name, value))
        self.emit_properties_changed({name: value})

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> DBusStr:
        return "B8:27:EB:00:00:01"

    @dbus_property()
    def Powered(self) -> DBusBool:
        return self._props["Powered"]

    # dbus_fast's property: mypy knows the setter idiom for builtins.property only
    @Powered.setter  # type: ignore[no-redef]
    def Powered(self, value: DBusBool) -> None:
        self._set("Powered", value)

    @dbus_property()
    def PairableTimeout(self) -> DBusUInt32:
        return self._props["PairableTimeout"]

    # dbus_fast's property: mypy knows the setter idiom for builtins.property only
    @PairableTimeout.setter  # type: ignore[no-redef]
    def PairableTimeout(self, value: DBusUInt32) -> None:
        self._set("PairableTimeout", value)

    @dbus_property()
    def Pairable(self) -> DBusBool:
        return self._props["Pairable"]

    # dbus_fast's property: mypy knows the setter idiom for builtins.property only
    @Pairable.setter  # type: ignore[no-redef]
    def Pairable(self, value: DBusBool) -> None:
        self._set("Pairable", value)


class Device(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.bluez.Device1")
        self.bonded = False

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> DBusStr:
        return "11:22:33:44:55:66"

    @dbus_property(access=PropertyAccess.READ)
    def Name(self) -> DBusStr:
        return "Installer phone"

    @dbus_property(access=PropertyAccess.READ)
    def Bonded(self) -> DBusBool:
        return self.bonded


@dataclass
class App:
    sender: str
    path: str
    objects: dict[str, dict[str, dict[str, Any]]]

    def char_path(self, char_uuid: str) -> str:
        return next(
            p for p, i in self.objects.items() if CHAR in i and i[CHAR]["UUID"] == char_uuid
        )


@dataclass
class Agent:
    sender: str
    path: str
    capability: str
    default: bool = False


def _unvariant(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v.value if isinstance(v, Variant) else v for k, v in d.items()}


def legacy_adv_size(props: dict[str, Any]) -> int:
    """Bytes of legacy advertising data BlueZ would build from LEAdvertisement1 properties."""
    size = 3 if props.get("Discoverable") else 0  # Flags AD
    uuids = [uuid.UUID(u) for u in props.get("ServiceUUIDs", [])]
    if uuids:
        size += 2 + 16 * len(uuids)  # one "complete list of 128-bit UUIDs" AD
    if "LocalName" in props:
        size += 2 + len(props["LocalName"].encode())
    size += 3 * ("tx-power" in props.get("Includes", []))
    return size


@dataclass
class FakeBluez:
    address: str
    adapter: str = "hci0"
    events: list[str] = field(default_factory=list)
    apps: dict[str, App] = field(default_factory=dict)
    adverts: dict[str, dict[str, Any]] = field(default_factory=dict)
    agents: dict[str, Agent] = field(default_factory=dict)
    adapter_log: list[tuple[str, Any]] = field(default_factory=list)
    notifications: asyncio.Queue[tuple[str, bytes]] = field(default_factory=asyncio.Queue)
    reject_apps: str | None = None  # set to make RegisterApplication fail with this message
    bus: MessageBus | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def adapter_path(self) -> str:
        return f"/org/bluez/{self.adapter}"

    async def start(self, with_adapter: bool = True) -> None:
        """bluetoothd starts: connect, export the tree, own org.bluez."""
        self.bus = bus = await MessageBus(bus_address=self.address).connect()
        self.apps.clear()
        self.adverts.clear()
        self.agents.clear()
        bus.add_message_handler(self._on_message)
        bus.export("/org/bluez", _Named("org.bluez.AgentManager1"))
        if with_adapter:
            self.add_adapter()
        await bus.request_name("org.bluez")

    async def stop(self) -> None:
        """bluetoothd exits: the connection and its name go away, registrations with it."""
        if self.bus is not None:
            self.bus.disconnect()
            with contextlib.suppress(Exception):
                await self.bus.wait_for_disconnect()  # type: ignore[no-untyped-call]
            self.bus = None

    def add_adapter(self) -> None:
        assert self.bus is not None
        self._adapter = Adapter(self.adapter_log)
        for iface in (
            self._adapter,
            _Named("org.bluez.GattManager1"),
            _Named("org.bluez.LEAdvertisingManager1"),
        ):
            self.bus.export(self.adapter_path, iface)

    def remove_adapter(self) -> None:
        """The adapter disappears (unplugged, rfkill): BlueZ drops what was registered on it."""
        assert self.bus is not None
        self.bus.unexport(self.adapter_path)
        self.apps.clear()
        self.adverts.clear()

    async def wait(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    def _event(self, name: str) -> None:
        self.events.append(name)
        self.changed.set()

    # ---- BlueZ's side of the managers ----

    def _on_message(self, msg: Message) -> bool | None:
        if msg.message_type == MessageType.SIGNAL:
            self._on_signal(msg)
            return None
        if msg.message_type != MessageType.METHOD_CALL or not (msg.interface or "").endswith(
            ("GattManager1", "LEAdvertisingManager1", "AgentManager1")
        ):
            return None
        asyncio.get_running_loop().create_task(self._serve(msg))
        return True

    async def _serve(self, msg: Message) -> None:
        assert self.bus is not None
        handler = getattr(self, f"_m_{msg.member}", None)
        try:
            if handler is None:
                raise DBusError("org.freedesktop.DBus.Error.UnknownMethod", str(msg.member))
            await handler(msg)
            reply = Message.new_method_return(msg)
        except DBusError as exc:
            reply = Message.new_error(msg, exc.type, exc.text)
        self.bus.send(reply)
        self._event(str(msg.member))

    async def _call(
        self,
        dest: str,
        path: str,
        iface: str,
        member: str,
        sig: str = "",
        body: list[Any] | None = None,
    ) -> list[Any]:
        assert self.bus is not None
        reply = await self.bus.call(
            Message(
                destination=dest,
                path=path,
                interface=iface,
                member=member,
                signature=sig,
                body=body or [],
            )
        )
        if reply.message_type == MessageType.ERROR:
            raise DBusError(reply.error_name or "error", str(reply.body[0] if reply.body else ""))
        return list(reply.body)

    async def _m_RegisterApplication(self, msg: Message) -> None:
        path, _options = msg.body
        if msg.sender in self.apps:
            raise DBusError("org.bluez.Error.AlreadyExists", "Already Exists")
        if self.reject_apps:
            raise DBusError("org.bluez.Error.Failed", self.reject_apps)
        (objects,) = await self._call(
            msg.sender, path, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"
        )
        tree = {p: {i: _unvariant(v) for i, v in ifs.items()} for p, ifs in objects.items()}
        self._validate(tree)
        self.apps[msg.sender] = App(msg.sender, path, tree)
        await self._call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "AddMatch",
            "s",
            [
                f"type='signal',sender='{msg.sender}',"
                f"member='PropertiesChanged',path_namespace='{path}'"
            ],
        )

    def _validate(self, tree: dict[str, dict[str, dict[str, Any]]]) -> None:
        services = {p for p, i in tree.items() if SERVICE in i}
        if not services:
            raise DBusError("org.bluez.Error.Failed", "No valid service object found")
        for p, ifs in tree.items():
            if SERVICE in ifs:
                uuid.UUID(ifs[SERVICE]["UUID"])
            if CHAR in ifs:
                c = ifs[CHAR]
                uuid.UUID(c["UUID"])
                bad = set(c["Flags"]) - BLUEZ_FLAGS
                if c["Service"] not in services or bad or not c["Flags"]:
                    raise DBusError("org.bluez.Error.Failed", f"invalid characteristic {p}: {bad}")

    async def _m_UnregisterApplication(self, msg: Message) -> None:
        if self.apps.pop(str(msg.sender), None) is None:
            raise DBusError("org.bluez.Error.DoesNotExist", "Does Not Exist")

    async def _m_RegisterAdvertisement(self, msg: Message) -> None:
        path, _options = msg.body
        (props,) = await self._call(
            msg.sender, path, "org.freedesktop.DBus.Properties", "GetAll", "s", [ADV]
        )
        props = _unvariant(props)
        if props.get("Type") not in ("peripheral", "broadcast"):
            raise DBusError("org.bluez.Error.InvalidArguments", "bad Type")
        if legacy_adv_size(props) > 31:
            raise DBusError("org.bluez.Error.InvalidLength", "Advertising data too long")
        self.adverts[f"{msg.sender}{path}"] = props

    async def _m_UnregisterAdvertisement(self, msg: Message) -> None:
        (path,) = msg.body
        if self.adverts.pop(f"{msg.sender}{path}", None) is None:
            raise DBusError("org.bluez.Error.DoesNotExist", "Does Not Exist")

    async def _m_RegisterAgent(self, msg: Message) -> None:
        path, capability = msg.body
        self.agents[msg.sender] = Agent(str(msg.sender), path, capability)

    async def _m_RequestDefaultAgent(self, msg: Message) -> None:
        self.agents[str(msg.sender)].default = True

    async def _m_UnregisterAgent(self, msg: Message) -> None:
        if self.agents.pop(str(msg.sender), None) is None:
            raise DBusError("org.bluez.Error.DoesNotExist", "No such Agent")

    def _on_signal(self, msg: Message) -> None:
        if msg.member != "PropertiesChanged" or msg.sender not in self.apps:
            return
        changed = msg.body[1]
        if msg.body[0] == CHAR and "Value" in changed:
            self.notifications.put_nowait((str(msg.path), bytes(changed["Value"].value)))

    # ---- the ATT bridge: what a phone's requests become ----

    def app(self) -> App:
        (app,) = self.apps.values()
        return app

    async def read(self, char_uuid: str, offset: int = 0, device: str = DEVICE) -> bytes:
        app = self.app()
        options = {
            "offset": Variant("q", offset),
            "mtu": Variant("q", 23),
            "link": Variant("s", "LE"),
            "device": Variant("o", device),
        }
        (value,) = await self._call(
            app.sender, app.char_path(char_uuid), CHAR, "ReadValue", "a{sv}", [options]
        )
        return bytes(value)

    async def long_read(
        self,
        char_uuid: str,
        mtu: int = 23,
        between: Callable[[], None] | None = None,
        device: str = DEVICE,
    ) -> bytes:
        """Read then Read Blob until a short answer, as a client at this MTU does."""
        data = await self.read(char_uuid, 0, device)
        value = data[: mtu - 1]
        while len(data) >= mtu - 1:
            if between is not None:
                between()
            data = (await self.read(char_uuid, len(value), device))[: mtu - 1]
            value += data
        return value

    async def write(self, char_uuid: str, value: bytes, device: str = DEVICE) -> None:
        app = self.app()
        options = {"type": Variant("s", "request"), "device": Variant("o", device)}
        await self._call(
            app.sender, app.char_path(char_uuid), CHAR, "WriteValue", "aya{sv}", [value, options]
        )

    async def notify(self, char_uuid: str, on: bool) -> None:
        app = self.app()
        member = "StartNotify" if on else "StopNotify"
        await self._call(app.sender, app.char_path(char_uuid), CHAR, member)

    async def char_props(self, char_uuid: str) -> dict[str, Any]:
        app = self.app()
        path = app.char_path(char_uuid)
        props_iface = "org.freedesktop.DBus.Properties"
        (props,) = await self._call(app.sender, path, props_iface, "GetAll", "s", [CHAR])
        return _unvariant(props)

    # ---- pairing: what bluetoothd asks the default agent ----

    def default_agent(self) -> Agent | None:
        return next((a for a in self.agents.values() if a.default), None)

    async def ask_agent(self, member: str, sig: str = "o", *args: Any) -> list[Any]:
        """Call the default agent as bluetoothd does during pairing (device first)."""
        agent = self.default_agent()
        assert agent is not None
        return await self._call(
            agent.sender, agent.path, "org.bluez.Agent1", member, sig, [DEVICE, *args]
        )

    async def bond(self) -> None:
        """A phone completes pairing: its Device1 appears and turns Bonded."""
        assert self.bus is not None
        dev = Device()
        self.bus.export(DEVICE, dev)
        dev.bonded = True
        dev.emit_properties_changed({"Bonded": True})
