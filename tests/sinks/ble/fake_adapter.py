"""The gateway bluetoothd's own objects in the fake: the adapter, its peers' Device1, and the
size rule BlueZ applies to an advertisement."""

# No `from __future__ import annotations`: dbus-fast reads `-> None` as the None object.
import uuid
from typing import Any

from dbus_fast import PropertyAccess
from dbus_fast.annotations import DBusBool, DBusStr, DBusUInt32
from dbus_fast.service import ServiceInterface, dbus_property

GATEWAY_ADDRESS = "B8:27:EB:00:00:01"


class _Named(ServiceInterface):
    """An interface that only has to show up in GetManagedObjects (methods are intercepted)."""


class Adapter(ServiceInterface):
    def __init__(self, log: list[tuple[str, Any]], pairable: bool = False) -> None:
        super().__init__("org.bluez.Adapter1")
        self._props: dict[str, Any] = {"Powered": True, "Pairable": pairable, "PairableTimeout": 0}
        self._log = log

    def _set(self, name: str, value: Any) -> None:
        self._props[name] = value
        self._log.append((name, value))
        self.emit_properties_changed({name: value})

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> DBusStr:
        return GATEWAY_ADDRESS

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
    """A peer (phone, laptop) as the gateway's bluetoothd shows it."""

    def __init__(self, address: str, name: str) -> None:
        super().__init__("org.bluez.Device1")
        self.peer_address = address
        self.peer_name = name
        self.bonded = False
        self.connected = False

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> DBusStr:
        return self.peer_address

    @dbus_property(access=PropertyAccess.READ)
    def Name(self) -> DBusStr:
        return self.peer_name

    @dbus_property(access=PropertyAccess.READ)
    def Bonded(self) -> DBusBool:
        return self.bonded

    @dbus_property(access=PropertyAccess.READ)
    def Paired(self) -> DBusBool:
        return self.bonded

    @dbus_property(access=PropertyAccess.READ)
    def Connected(self) -> DBusBool:
        return self.connected


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
