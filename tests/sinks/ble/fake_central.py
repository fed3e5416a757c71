"""The client machine's bluetoothd (a laptop, a second Pi, a phone's stack), on its own private
bus, linked to the gateway's FakeBluez as by a radio. It serves BlueZ's client-side D-Bus API,
so bleak runs against it unmodified:

- Adapter1: SetDiscoveryFilter/StartDiscovery/StopDiscovery; while discovering, the gateway's
  registered LEAdvertisement1 appears as a Device1 (Name, UUIDs, RSSI), filtered by UUID.
- Device1: Connect (the gateway must advertise), Pair (passkey entry or Just Works, decided by
  the two agents' IO capabilities, refused unless the gateway is pairable), Disconnect, and
  ServicesResolved after the gateway's GATT tree is mirrored as GattService1/
  GattCharacteristic1/GattDescriptor1 objects with the link's MTU.
- GattCharacteristic1: ReadValue as Read + Read Blob at the MTU, WriteValue, StartNotify/
  StopNotify and AcquireNotify (a SOCK_SEQPACKET pair) forwarded to the application; each
  access checked against the application's security flags at the bond's security level, with
  BlueZ's errors (fake_att.py). Notifications longer than MTU - 3 are cut, as BlueZ does, and
  recorded in `truncated`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
from dataclasses import dataclass, field
from typing import Any

from dbus_fast import DBusError, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from tests.sinks.ble import fake_att as att
from tests.sinks.ble.fake_adapter import GATEWAY_ADDRESS
from tests.sinks.ble.fake_bluez import CHAR, PHONE, SERVICE, FakeBluez
from tests.sinks.ble.fake_tree import ObjectTree

ADAPTER = "org.bluez.Adapter1"
DEVICE = "org.bluez.Device1"
GATT_SERVICE = "org.bluez.GattService1"
GATT_CHAR = "org.bluez.GattCharacteristic1"
GATT_DESC = "org.bluez.GattDescriptor1"
CCC_UUID = "00002902-0000-1000-8000-00805f9b34fb"
ERR = "org.bluez.Error."
KEYBOARD = ("KeyboardOnly", "KeyboardDisplay")
DISPLAY = ("DisplayOnly", "DisplayYesNo", "KeyboardDisplay")


@dataclass
class Chrc:
    """A mirrored characteristic: its path here and the application's object over there."""

    path: str
    server_path: str
    uuid: str
    flags: list[str]  # the application's (security) flags
    fd: socket.socket | None = None  # AcquireNotify's end
    notifying: bool = False


@dataclass
class FakeCentral:
    address: str
    gateway: FakeBluez
    mtu: int = 23
    secure_connections: bool = True  # False: the client pairs with legacy pairing only
    own_address: str = PHONE
    passkey: int | None = None  # None: random, as the kernel picks it
    bonds: dict[str, int] = field(default_factory=dict)  # this machine's /var/lib/bluetooth
    att_log: list[tuple[str, str, int]] = field(default_factory=list)  # (op, uuid, offset)
    truncated: list[bytes] = field(default_factory=list)
    agents: dict[str, tuple[str, str, bool]] = field(default_factory=dict)
    chars: dict[str, Chrc] = field(default_factory=dict)
    bus: MessageBus | None = None
    _tree: ObjectTree | None = None
    _scan: asyncio.Task[None] | None = None
    _filter_uuids: list[str] = field(default_factory=list)

    adapter_path = "/org/bluez/hci0"

    @property
    def device_path(self) -> str:
        return f"{self.adapter_path}/dev_{GATEWAY_ADDRESS.replace(':', '_')}"

    @property
    def tree(self) -> ObjectTree:
        assert self._tree is not None
        return self._tree

    async def start(self) -> None:
        self.bus = bus = await MessageBus(
            bus_address=self.address, negotiate_unix_fd=True
        ).connect()
        self._tree = ObjectTree(bus, self._method, self._set)
        self.tree.add(self.adapter_path, ADAPTER, _adapter_props(self.own_address))
        if GATEWAY_ADDRESS in self.bonds:
            self._add_device()
        self.gateway.value_listeners.append(self._on_notification)
        self.gateway.stop_listeners.append(self._link_lost)
        await bus.request_name("org.bluez")

    async def stop(self) -> None:
        if self._scan is not None:
            self._scan.cancel()
        self._link_lost()
        with contextlib.suppress(ValueError):
            self.gateway.value_listeners.remove(self._on_notification)
            self.gateway.stop_listeners.remove(self._link_lost)
        if self.bus is not None:
            self.bus.disconnect()
            with contextlib.suppress(Exception):
                await self.bus.wait_for_disconnect()  # type: ignore[no-untyped-call]
            self.bus = None

    # ---- properties the client may set ----

    def _set(self, path: str, iface: str, name: str, value: Variant) -> None:
        if (iface, name) not in ((DEVICE, "Trusted"), (ADAPTER, "Powered"), (ADAPTER, "Pairable")):
            raise DBusError("org.freedesktop.DBus.Error.PropertyReadOnly", name)
        self.tree.set(path, iface, **{name: value})

    # ---- methods ----

    async def _method(self, msg: Message) -> tuple[str, list[Any], list[int]]:
        handler = getattr(self, f"_{(msg.interface or '').rsplit('.', 1)[-1]}_{msg.member}", None)
        if handler is None:
            raise DBusError(
                "org.freedesktop.DBus.Error.UnknownMethod", f"{msg.interface}.{msg.member}"
            )
        result = await handler(msg)
        return result if result is not None else ("", [], [])

    async def _Adapter1_SetDiscoveryFilter(self, msg: Message) -> None:
        uuids = msg.body[0].get("UUIDs")
        self._filter_uuids = [u.lower() for u in uuids.value] if uuids else []

    async def _Adapter1_StartDiscovery(self, msg: Message) -> None:
        if self._scan is None:
            self._scan = asyncio.get_running_loop().create_task(self._discover())
        self.tree.set(self.adapter_path, ADAPTER, Discovering=Variant("b", True))

    async def _Adapter1_StopDiscovery(self, msg: Message) -> None:
        if self._scan is None:
            raise DBusError(ERR + "Failed", "No discovery started")
        self._scan.cancel()
        self._scan = None
        self.tree.set(self.adapter_path, ADAPTER, Discovering=Variant("b", False))

    async def _Adapter1_RemoveDevice(self, msg: Message) -> None:
        if msg.body[0] != self.device_path or not self.tree.has(self.device_path, DEVICE):
            raise DBusError(ERR + "DoesNotExist", "Does Not Exist")
        self._link_lost()
        self.bonds.pop(GATEWAY_ADDRESS, None)
        self.tree.remove(self.device_path)

    async def _discover(self) -> None:
        """Hear the gateway's advertisement every 100 ms while it advertises."""
        rssi = -60
        while True:
            adv = (
                next(iter(self.gateway.adverts.values()), None)
                if self.gateway.advertising
                else None
            )
            uuids = [u.lower() for u in adv.get("ServiceUUIDs", [])] if adv else []
            wanted = not self._filter_uuids or set(uuids) & set(self._filter_uuids)
            if adv is not None and wanted:
                rssi = -61 if rssi == -60 else -60  # BlueZ signals each RSSI change
                if not self.tree.has(self.device_path, DEVICE):
                    self._add_device()
                self.tree.set(
                    self.device_path,
                    DEVICE,
                    Name=Variant("s", adv["LocalName"]),
                    Alias=Variant("s", adv["LocalName"]),
                    UUIDs=Variant("as", uuids),
                    RSSI=Variant("n", rssi),
                )
            await asyncio.sleep(0.1)

    def _add_device(self) -> None:
        bonded = GATEWAY_ADDRESS in self.bonds
        alias = GATEWAY_ADDRESS.replace(":", "-")
        props = {
            "Address": Variant("s", GATEWAY_ADDRESS),
            "AddressType": Variant("s", "public"),
            "Alias": Variant("s", alias),
            "Adapter": Variant("o", self.adapter_path),
            "Paired": Variant("b", bonded),
            "Bonded": Variant("b", bonded),
            "Trusted": Variant("b", bonded),
            "Blocked": Variant("b", False),
            "LegacyPairing": Variant("b", False),
            "Connected": Variant("b", False),
            "ServicesResolved": Variant("b", False),
            "UUIDs": Variant("as", []),
            "ManufacturerData": Variant("a{qv}", {}),
            "ServiceData": Variant("a{sv}", {}),
        }
        self.tree.add(self.device_path, DEVICE, props)

    @property
    def connected(self) -> bool:
        return self.tree.has(self.device_path, DEVICE) and bool(
            self.tree.get(self.device_path, DEVICE, "Connected")
        )

    async def _Device1_Connect(self, msg: Message) -> None:
        await self._connect()

    async def _connect(self) -> None:
        if self.connected:
            return
        if not self.gateway.advertising:
            raise DBusError(ERR + "Failed", "le-connection-abort-by-local")
        self.gateway.set_peer(self.own_address, connected=True)
        self.tree.set(self.device_path, DEVICE, Connected=Variant("b", True))
        self._mirror_gatt()
        self.tree.set(self.device_path, DEVICE, ServicesResolved=Variant("b", True))

    async def _Device1_Disconnect(self, msg: Message) -> None:
        for ch in self.chars.values():
            if ch.notifying:
                with contextlib.suppress(DBusError):
                    await self.gateway.notify(ch.uuid, False)
        self._link_lost()

    def _link_lost(self) -> None:
        """The link is down (Disconnect, the gateway's bluetoothd gone): subscriptions end."""
        for ch in self.chars.values():
            if ch.fd is not None:
                asyncio.get_running_loop().remove_reader(ch.fd.fileno())
                ch.fd.close()
        self.chars.clear()
        if self._tree is None or not self.tree.has(self.device_path, DEVICE):
            return
        for child in [p for p in self.tree.objects if p.startswith(self.device_path + "/")]:
            self.tree.remove(child)
        if self.gateway.bus is not None and self.own_address in self.gateway.peers:
            self.gateway.set_peer(self.own_address, connected=False)
        self.tree.set(
            self.device_path,
            DEVICE,
            ServicesResolved=Variant("b", False),
            Connected=Variant("b", False),
        )

    def _mirror_gatt(self) -> None:
        """The gateway's application as BlueZ's client side shows it, handles numbered."""
        app = self.gateway.app()
        handle = 0x000F
        for spath, ifaces in sorted(app.objects.items()):
            if SERVICE not in ifaces:
                continue
            handle += 1
            svc = f"{self.device_path}/service{handle:04x}"
            self.tree.add(
                svc,
                GATT_SERVICE,
                {
                    "UUID": Variant("s", ifaces[SERVICE]["UUID"]),
                    "Primary": Variant("b", True),
                    "Device": Variant("o", self.device_path),
                    "Handle": Variant("q", handle),
                },
            )
            for cpath, cifaces in sorted(app.objects.items()):
                c = cifaces.get(CHAR)
                if c is None or c["Service"] != spath:
                    continue
                handle += 2  # declaration + value
                path = f"{svc}/char{handle - 1:04x}"
                props = {
                    "UUID": Variant("s", c["UUID"]),
                    "Service": Variant("o", svc),
                    "Flags": Variant("as", att.client_properties(c["Flags"])),
                    "Value": Variant("ay", b""),
                    "MTU": Variant("q", self.mtu),
                    "Handle": Variant("q", handle),
                }
                if att.allows(c["Flags"], "notify"):
                    props["Notifying"] = Variant("b", False)
                    props["NotifyAcquired"] = Variant("b", False)
                self.tree.add(path, GATT_CHAR, props)
                self.chars[path] = Chrc(path, cpath, c["UUID"], list(c["Flags"]))
                if att.allows(c["Flags"], "notify"):
                    handle += 1
                    self.tree.add(
                        f"{path}/desc{handle:04x}",
                        GATT_DESC,
                        {
                            "UUID": Variant("s", CCC_UUID),
                            "Characteristic": Variant("o", path),
                            "Value": Variant("ay", b""),
                            "Flags": Variant("as", ["read", "write"]),
                        },
                    )

    # ---- pairing ----

    def default_agent(self) -> tuple[str, str, bool] | None:
        return next((a for a in self.agents.values() if a[2]), None)

    async def _AgentManager1_RegisterAgent(self, msg: Message) -> None:
        self.agents[str(msg.sender)] = (str(msg.body[0]), str(msg.body[1]), False)

    async def _AgentManager1_RequestDefaultAgent(self, msg: Message) -> None:
        path, cap, _ = self.agents[str(msg.sender)]
        self.agents[str(msg.sender)] = (path, cap, True)

    async def _AgentManager1_UnregisterAgent(self, msg: Message) -> None:
        if self.agents.pop(str(msg.sender), None) is None:
            raise DBusError(ERR + "DoesNotExist", "No such Agent")

    async def _Device1_Pair(self, msg: Message) -> None:
        await self._connect()
        if GATEWAY_ADDRESS in self.bonds:
            raise DBusError(ERR + "AlreadyExists", "Already Paired")
        gw = self.gateway
        if not gw.pairable:  # the peripheral answers "Pairing Not Supported"
            raise DBusError(ERR + "AuthenticationFailed", "Authentication Failed")
        gw_agent = gw.default_agent()
        gw_cap = gw_agent.capability if gw_agent else "NoInputNoOutput"
        mine = self.default_agent()
        my_cap = mine[1] if mine else "NoInputNoOutput"
        peer = gw.peer_path(self.own_address)
        try:
            if gw_cap in DISPLAY and my_cap in KEYBOARD and mine is not None:
                passkey = self.passkey if self.passkey is not None else random.randrange(10**6)
                await gw.ask_agent_for(peer, "DisplayPasskey", "ouq", passkey, 0)
                (typed,) = await self._ask_agent(mine, "RequestPasskey", "o", [self.device_path])
                if typed != passkey:
                    raise DBusError(ERR + "AuthenticationFailed", "Authentication Failed")
                level = att.SECURE if self.secure_connections else att.AUTHENTICATED
            else:  # Just Works: the responder's agent authorizes
                if gw_agent is not None:
                    await gw.ask_agent_for(peer, "RequestAuthorization", "o")
                level = att.ENCRYPTED
        except DBusError as exc:
            if exc.type.startswith(ERR + "Authentication"):
                raise
            raise DBusError(ERR + "AuthenticationRejected", "Authentication Rejected") from None
        gw.add_bond(self.own_address, level)
        self.bonds[GATEWAY_ADDRESS] = level
        self.tree.set(
            self.device_path, DEVICE, Paired=Variant("b", True), Bonded=Variant("b", True)
        )

    async def _ask_agent(
        self, agent: tuple[str, str, bool], member: str, sig: str, body: list[Any]
    ) -> list[Any]:
        sender = next(s for s, a in self.agents.items() if a == agent)
        assert self.bus is not None
        reply = await self.bus.call(
            Message(
                destination=sender,
                path=agent[0],
                interface="org.bluez.Agent1",
                member=member,
                signature=sig,
                body=body,
            )
        )
        if reply.message_type == MessageType.ERROR:
            raise DBusError(reply.error_name or ERR + "Rejected", "agent refused")
        return list(reply.body)

    # ---- the ATT bridge ----

    def _chrc(self, msg: Message, access: att.Access) -> Chrc:
        ch = self.chars.get(str(msg.path))
        if ch is None or not self.connected:
            raise DBusError(ERR + "Failed", "Not connected")
        level = self.gateway.link_level(self.own_address, GATEWAY_ADDRESS in self.bonds)
        code = att.security_error(ch.flags, access, level)
        if code is not None:
            self.att_log.append((f"refused-{access}", ch.uuid, code))
            raise att.att_to_client_error(code)
        return ch

    async def _GattCharacteristic1_ReadValue(
        self, msg: Message
    ) -> tuple[str, list[Any], list[int]]:
        ch = self._chrc(msg, "read")
        offset = int(msg.body[0]["offset"].value) if "offset" in msg.body[0] else 0
        value = b""
        while True:
            self.att_log.append(("read" if offset == 0 else "read-blob", ch.uuid, offset))
            try:
                got = await self.gateway.read(
                    ch.uuid, offset, self.gateway.peer_path(self.own_address), self.mtu
                )
            except DBusError as exc:
                raise att.att_to_client_error(att.app_error_to_att(exc, "read")) from None
            part = got[: self.mtu - 1]
            value += part
            offset += len(part)
            if len(part) < self.mtu - 1:
                return "ay", [value], []

    async def _GattCharacteristic1_WriteValue(self, msg: Message) -> None:
        ch = self._chrc(msg, "write")
        value = bytes(msg.body[0])
        self.att_log.append(("write", ch.uuid, len(value)))
        try:
            await self.gateway.write(ch.uuid, value, self.gateway.peer_path(self.own_address))
        except DBusError as exc:
            raise att.att_to_client_error(att.app_error_to_att(exc, "write")) from None

    async def _subscribe(self, ch: Chrc) -> None:
        try:
            await self.gateway.notify(ch.uuid, True)  # the CCC write reaches the application
        except DBusError as exc:
            raise att.att_to_client_error(att.app_error_to_att(exc, "write")) from None
        ch.notifying = True

    async def _GattCharacteristic1_StartNotify(self, msg: Message) -> None:
        ch = self._chrc(msg, "notify")
        if not ch.notifying:
            await self._subscribe(ch)
        self.tree.set(ch.path, GATT_CHAR, Notifying=Variant("b", True))

    async def _GattCharacteristic1_StopNotify(self, msg: Message) -> None:
        ch = self._chrc(msg, "notify")
        if ch.notifying and ch.fd is None:
            ch.notifying = False
            await self.gateway.notify(ch.uuid, False)
            self.tree.set(ch.path, GATT_CHAR, Notifying=Variant("b", False))

    async def _GattCharacteristic1_AcquireNotify(
        self, msg: Message
    ) -> tuple[str, list[Any], list[int]]:
        ch = self._chrc(msg, "notify")
        if ch.notifying:
            raise DBusError(ERR + "InProgress", "Notify already in progress")
        await self._subscribe(ch)
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ch.fd = mine
        asyncio.get_running_loop().add_reader(mine.fileno(), self._fd_closed, ch)
        self.tree.set(ch.path, GATT_CHAR, NotifyAcquired=Variant("b", True))
        fd = os.dup(theirs.fileno())
        theirs.close()
        return "hq", [0, self.mtu], [fd]

    def _fd_closed(self, ch: Chrc) -> None:
        """The client closed its AcquireNotify socket: BlueZ unsubscribes."""
        asyncio.get_running_loop().remove_reader(ch.fd.fileno() if ch.fd else -1)
        if ch.fd is not None:
            ch.fd.close()
            ch.fd = None
        ch.notifying = False
        if self.tree.has(ch.path, GATT_CHAR):
            self.tree.set(ch.path, GATT_CHAR, NotifyAcquired=Variant("b", False))
        task = asyncio.get_running_loop().create_task(self.gateway.notify(ch.uuid, False))
        task.add_done_callback(lambda t: t.exception())

    async def _GattDescriptor1_ReadValue(self, msg: Message) -> tuple[str, list[Any], list[int]]:
        parent = self.chars.get(str(msg.path).rsplit("/", 1)[0])
        on = parent is not None and parent.notifying
        return "ay", [b"\x01\x00" if on else b"\x00\x00"], []

    def _on_notification(self, server_path: str, value: bytes) -> None:
        for ch in self.chars.values():
            if ch.server_path != server_path or not ch.notifying:
                continue
            if len(value) > self.mtu - 3:
                self.truncated.append(value)
            sent = value[: self.mtu - 3]
            if ch.fd is not None:
                with contextlib.suppress(OSError):
                    ch.fd.send(sent)
            else:
                self.tree.emit(ch.path, GATT_CHAR, Value=Variant("ay", sent))


def _adapter_props(address: str) -> dict[str, Variant]:
    return {
        "Address": Variant("s", address),
        "AddressType": Variant("s", "public"),
        "Name": Variant("s", "laptop"),
        "Alias": Variant("s", "laptop"),
        "Powered": Variant("b", True),
        "Discoverable": Variant("b", False),
        "Pairable": Variant("b", True),
        "Discovering": Variant("b", False),
        "UUIDs": Variant("as", []),
        "Roles": Variant("as", ["central", "peripheral"]),
    }
