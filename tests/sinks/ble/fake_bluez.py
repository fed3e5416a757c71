"""A fake bluetoothd on a private bus, written with dbus-fast: it plays BlueZ's side of the
D-Bus contract (GattManager1, LEAdvertisingManager1, AgentManager1, Adapter1, Device1) and the
ATT bridge (ReadValue/WriteValue/StartNotify, PropertiesChanged -> notifications).

Like bluetoothd it calls back the registering connection: GetManagedObjects on the application
path (and validates the tree), Properties.GetAll on the advertisement, and the agent's methods.
Phones reach it through `read`/`write`/`notify` below (the ATT requests bluetoothd turns into
calls on the application), or through a FakeCentral (fake_central.py): a second bluetoothd on
its own bus, the client machine's, linked to this one as by a radio, that bleak talks to.
"""

# No `from __future__ import annotations`: dbus-fast reads `-> None` as the None object.
import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dbus_fast import DBusError, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from tests.sinks.ble.fake_adapter import (
    GATEWAY_ADDRESS,
    Adapter,
    Device,
    _Named,
    legacy_adv_size,
)
from tests.sinks.ble.fake_att import BLUEZ_FLAGS, NO_SECURITY

__all__ = ["BLUEZ_FLAGS", "GATEWAY_ADDRESS", "FakeBluez", "legacy_adv_size"]

SERVICE = "org.bluez.GattService1"
CHAR = "org.bluez.GattCharacteristic1"
ADV = "org.bluez.LEAdvertisement1"
PHONE = "11:22:33:44:55:66"
DEVICE = "/org/bluez/hci0/dev_11_22_33_44_55_66"
BUS_TIMEOUT_S = 10.0  # every wait on the private bus is bounded


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
    pairable_at_start: bool = False  # BlueZ's main.conf AlwaysPairable = true
    reject_apps: str | None = None  # set to make RegisterApplication fail with this message
    bus: MessageBus | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    # what /var/lib/bluetooth keeps across restarts: peer address -> security level of the bond
    bonds: dict[str, int] = field(default_factory=dict)
    peers: dict[str, Device] = field(default_factory=dict)
    # a FakeCentral's hooks: notifications sent (char path, value) and bluetoothd going away
    value_listeners: list[Callable[[str, bytes], None]] = field(default_factory=list)
    stop_listeners: list[Callable[[], None]] = field(default_factory=list)

    @property
    def adapter_path(self) -> str:
        return f"/org/bluez/{self.adapter}"

    async def start(self, with_adapter: bool = True) -> None:
        """bluetoothd starts: connect, export the tree, own org.bluez."""
        async with asyncio.timeout(BUS_TIMEOUT_S):
            self.bus = bus = await MessageBus(bus_address=self.address).connect()
        self.apps.clear()
        self.adverts.clear()
        self.agents.clear()
        bus.add_message_handler(self._on_message)
        bus.export("/org/bluez", _Named("org.bluez.AgentManager1"))
        self.peers.clear()
        if with_adapter:
            self.add_adapter()
        async with asyncio.timeout(BUS_TIMEOUT_S):
            await bus.request_name("org.bluez")

    async def stop(self) -> None:
        """bluetoothd exits: the connection and its name go away, registrations with it."""
        for listener in list(self.stop_listeners):
            listener()
        if self.bus is not None:
            self.bus.disconnect()
            # Bounded: a disconnect that never completes must fail the test, not hang it.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self.bus.wait_for_disconnect(),  # type: ignore[no-untyped-call]
                    BUS_TIMEOUT_S,
                )
            self.bus = None

    def add_adapter(self) -> None:
        assert self.bus is not None
        self._adapter = Adapter(self.adapter_log, self.pairable_at_start)
        for iface in (
            self._adapter,
            _Named("org.bluez.GattManager1"),
            _Named("org.bluez.LEAdvertisingManager1"),
        ):
            self.bus.export(self.adapter_path, iface)
        for address in self.bonds:  # bonded devices are known from the start
            self.peer(address).bonded = True

    @property
    def pairable(self) -> bool:
        return bool(self._adapter._props["Pairable"]) if self.bus is not None else False

    @property
    def advertising(self) -> bool:
        return self.bus is not None and bool(self.adverts) and bool(self.apps)

    def peer_path(self, address: str) -> str:
        return f"{self.adapter_path}/dev_{address.replace(':', '_')}"

    def peer(self, address: str, name: str = "Installer phone") -> Device:
        """The Device1 of a peer, created (as on a connection or a bond) if new."""
        assert self.bus is not None
        if address not in self.peers:
            self.peers[address] = dev = Device(address, name)
            self.bus.export(self.peer_path(address), dev)
        return self.peers[address]

    def set_peer(self, address: str, **changes: bool) -> None:
        dev = self.peer(address)
        for name, value in changes.items():
            setattr(dev, name, value)
        dev.emit_properties_changed({n.capitalize(): v for n, v in changes.items()})

    def add_bond(self, address: str, level: int) -> None:
        self.bonds[address] = level
        self.set_peer(address, bonded=True)

    def link_level(self, address: str, peer_has_bond: bool) -> int:
        """Security a link with this peer reaches: the bond's, if both ends still hold it."""
        return self.bonds.get(address, NO_SECURITY) if peer_has_bond else NO_SECURITY

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
        message = Message(
            destination=dest,
            path=path,
            interface=iface,
            member=member,
            signature=sig,
            body=body or [],
        )
        try:
            async with asyncio.timeout(BUS_TIMEOUT_S):
                reply = await self.bus.call(message)
        except TimeoutError:
            raise AssertionError(
                f"no reply to {iface}.{member} on {path} within {BUS_TIMEOUT_S} s"
            ) from None
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
            value = bytes(changed["Value"].value)
            self.notifications.put_nowait((str(msg.path), value))
            for listener in list(self.value_listeners):
                listener(str(msg.path), value)

    # ---- the ATT bridge: what a phone's requests become ----

    def app(self) -> App:
        (app,) = self.apps.values()
        return app

    async def read(
        self, char_uuid: str, offset: int = 0, device: str = DEVICE, mtu: int = 23
    ) -> bytes:
        app = self.app()
        options = {
            "offset": Variant("q", offset),
            "mtu": Variant("q", mtu),
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
        return await self.ask_agent_for(DEVICE, member, sig, *args)

    async def ask_agent_for(
        self, device: str, member: str, sig: str = "o", *args: Any
    ) -> list[Any]:
        agent = self.default_agent()
        assert agent is not None
        return await self._call(
            agent.sender, agent.path, "org.bluez.Agent1", member, sig, [device, *args]
        )

    async def bond(self) -> None:
        """A phone completes pairing: its Device1 appears and turns Bonded."""
        self.add_bond(PHONE, 2)
