"""A D-Bus object tree served by hand on a dbus-fast connection: ObjectManager and Properties
for objects that come and go (devices, GATT services), with the signals bluetoothd sends
(InterfacesAdded/Removed, PropertiesChanged). Method calls on the objects go to a callback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from dbus_fast import DBusError, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
PROPERTIES = "org.freedesktop.DBus.Properties"

Props = dict[str, Variant]
# (message) -> (signature, body, unix_fds) of the reply; raise DBusError for an error reply
MethodHandler = Callable[[Message], Awaitable[tuple[str, list[Any], list[int]]]]
Setter = Callable[[str, str, str, Variant], None]  # (path, interface, name, value)


class ObjectTree:
    def __init__(self, bus: MessageBus, methods: MethodHandler, setter: Setter) -> None:
        self.bus = bus
        self.objects: dict[str, dict[str, Props]] = {}
        self._methods = methods
        self._setter = setter
        self._tasks: set[asyncio.Task[None]] = set()
        bus.add_message_handler(self._on_message)

    # ---- state, with the signals bluetoothd sends ----

    def add(self, path: str, interface: str, props: Props) -> None:
        self.objects.setdefault(path, {})[interface] = props
        self._signal(
            "/", OBJECT_MANAGER, "InterfacesAdded", "oa{sa{sv}}", [path, {interface: props}]
        )

    def remove(self, path: str) -> None:
        """Remove an object and everything below it, children first (as bluetoothd does)."""
        for p in sorted(
            (p for p in self.objects if p == path or p.startswith(path + "/")), reverse=True
        ):
            ifaces = list(self.objects.pop(p))
            self._signal("/", OBJECT_MANAGER, "InterfacesRemoved", "oas", [p, ifaces])

    def set(self, path: str, interface: str, **changes: Variant) -> None:
        props = self.objects[path][interface]
        changed = {k: v for k, v in changes.items() if k not in props or props[k].value != v.value}
        if not changed:
            return
        props.update(changed)
        self._signal(path, PROPERTIES, "PropertiesChanged", "sa{sv}as", [interface, changed, []])

    def emit(self, path: str, interface: str, **changes: Variant) -> None:
        """PropertiesChanged even if the value is the same (a notification repeating a value)."""
        self.objects[path][interface].update(changes)
        self._signal(path, PROPERTIES, "PropertiesChanged", "sa{sv}as", [interface, changes, []])

    def get(self, path: str, interface: str, name: str) -> Any:
        return self.objects[path][interface][name].value

    def has(self, path: str, interface: str) -> bool:
        return interface in self.objects.get(path, {})

    def _signal(self, path: str, iface: str, member: str, sig: str, body: list[Any]) -> None:
        if self.bus.connected:
            self.bus.send(Message.new_signal(path, iface, member, sig, body))

    # ---- calls ----

    def _on_message(self, msg: Message) -> bool | None:
        if msg.message_type != MessageType.METHOD_CALL:
            return None
        task = asyncio.get_running_loop().create_task(self._serve(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _serve(self, msg: Message) -> None:
        try:
            sig, body, fds = await self._dispatch(msg)
            reply = Message.new_method_return(msg, sig, body, fds)
        except DBusError as exc:
            reply = Message.new_error(msg, exc.type, exc.text)
        if self.bus.connected:
            self.bus.send(reply)

    async def _dispatch(self, msg: Message) -> tuple[str, list[Any], list[int]]:
        path = str(msg.path)
        if msg.interface == OBJECT_MANAGER and msg.member == "GetManagedObjects":
            below = {
                p: i for p, i in self.objects.items() if path == "/" or p.startswith(path + "/")
            }
            return "a{oa{sa{sv}}}", [below], []
        if msg.interface == PROPERTIES:
            ifaces = self.objects.get(path)
            if ifaces is None:
                raise DBusError("org.freedesktop.DBus.Error.UnknownObject", path)
            iface = msg.body[0]
            if iface not in ifaces:
                raise DBusError("org.freedesktop.DBus.Error.InvalidArgs", f"no {iface}")
            if msg.member == "GetAll":
                return "a{sv}", [ifaces[iface]], []
            if msg.member == "Get":
                if msg.body[1] not in ifaces[iface]:
                    raise DBusError("org.freedesktop.DBus.Error.InvalidArgs", msg.body[1])
                return "v", [ifaces[iface][msg.body[1]]], []
            if msg.member == "Set":
                self._setter(path, iface, msg.body[1], msg.body[2])
                return "", [], []
        if path not in self.objects and path != "/org/bluez":
            raise DBusError("org.freedesktop.DBus.Error.UnknownObject", f"no object {path}")
        return await self._methods(msg)
