"""The D-Bus objects BlueZ talks to: GattService1, GattCharacteristic1 and LEAdvertisement1.

They hold no data of their own: reads and writes go to callbacks (the sink's LatestReadings).
BlueZ finds them through ObjectManager.GetManagedObjects on APP_PATH, which dbus-fast answers
for every object exported below that path.
"""

# No `from __future__ import annotations`: dbus-fast reads `-> None` as the None object.
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from dbus_fast import DBusError, PropertyAccess, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusBool, DBusBytes, DBusDict, DBusObjectPath, DBusStr
from dbus_fast.annotations import DBusSignature as Sig
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property

from gatewayd.sinks.ble import gatt
from gatewayd.sinks.ble.latest import InvalidLength, InvalidOffset

log = logging.getLogger(__name__)

APP_PATH = "/org/gatewayd/ble"
SERVICE_PATH = APP_PATH + "/service0"
ADV_PATH = "/org/gatewayd/advertisement0"

GATT_SERVICE = "org.bluez.GattService1"
GATT_CHARACTERISTIC = "org.bluez.GattCharacteristic1"
LE_ADVERTISEMENT = "org.bluez.LEAdvertisement1"

ERR_FAILED = "org.bluez.Error.Failed"
ERR_NOT_SUPPORTED = "org.bluez.Error.NotSupported"
ERR_INVALID_OFFSET = "org.bluez.Error.InvalidOffset"
ERR_INVALID_LENGTH = "org.bluez.Error.InvalidValueLength"

StrList = Annotated[list[str], Sig("as")]

# What a handler raises -> the BlueZ error (bluetoothd turns it into an ATT error code).
_ERRORS: tuple[tuple[type[ValueError], str], ...] = (
    (InvalidOffset, ERR_INVALID_OFFSET),
    (InvalidLength, ERR_INVALID_LENGTH),
    (ValueError, ERR_FAILED),
)

ReadHandler = Callable[[str, int], bytes]  # (device, offset) -> value[offset:]
WriteHandler = Callable[[str, bytes], None]  # (device, value)


def _dbus_error(exc: ValueError) -> DBusError:
    name = next(n for t, n in _ERRORS if isinstance(exc, t))
    return DBusError(name, str(exc))


def _option(options: dict[str, Variant], name: str, default: Any) -> Any:
    v = options.get(name)
    return default if v is None else v.value


class GattService(ServiceInterface):
    def __init__(self, uuid: str) -> None:
        super().__init__(GATT_SERVICE)
        self._uuid = uuid

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:
        return self._uuid

    @dbus_property(access=PropertyAccess.READ)
    def Primary(self) -> DBusBool:
        return True


class Characteristic(ServiceInterface):
    """A characteristic that can be read and/or written; errors go back to BlueZ as ATT errors."""

    def __init__(
        self,
        spec: gatt.CharSpec,
        flags: list[str],
        read: ReadHandler | None = None,
        write: WriteHandler | None = None,
    ) -> None:
        super().__init__(GATT_CHARACTERISTIC)
        self.spec = spec
        self._flags = flags
        self._read = read
        self._write = write

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:
        return self.spec.uuid

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> DBusObjectPath:
        return SERVICE_PATH

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> StrList:
        return list(self._flags)

    @dbus_method()
    def ReadValue(self, options: DBusDict) -> DBusBytes:
        if self._read is None:
            raise DBusError(ERR_NOT_SUPPORTED, f"{self.spec.name} is not readable")
        device = str(_option(options, "device", ""))
        try:
            return self._read(device, int(_option(options, "offset", 0)))
        except ValueError as exc:
            raise _dbus_error(exc) from None

    @dbus_method()
    def WriteValue(self, value: DBusBytes, options: DBusDict) -> None:
        if self._write is None:
            raise DBusError(ERR_NOT_SUPPORTED, f"{self.spec.name} is not writable")
        if _option(options, "prepare-authorize", False):
            return  # BlueZ only asks whether a prepared write would be allowed: it would
        if _option(options, "offset", 0):
            raise DBusError(ERR_INVALID_OFFSET, "write the whole value at offset 0")
        try:
            self._write(str(_option(options, "device", "")), bytes(value))
        except ValueError as exc:
            raise _dbus_error(exc) from None


class NotifyingCharacteristic(Characteristic):
    """Adds Value/Notifying and StartNotify/StopNotify: BlueZ turns PropertiesChanged(Value)
    into a notification to every subscribed, bonded phone."""

    def __init__(
        self, spec: gatt.CharSpec, flags: list[str], read: ReadHandler | None = None
    ) -> None:
        super().__init__(spec, flags, read=read)
        self._value = b""
        self._notifying = False

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> DBusBytes:
        return self._value

    @dbus_property(access=PropertyAccess.READ)
    def Notifying(self) -> DBusBool:
        return self._notifying

    @dbus_method()
    def StartNotify(self) -> None:
        if not self._notifying:
            self._notifying = True
            self.emit_properties_changed({"Notifying": True})

    @dbus_method()
    def StopNotify(self) -> None:
        self.reset()

    @property
    def notifying(self) -> bool:
        return self._notifying

    def reset(self) -> None:
        """BlueZ forgot its subscribers (stop, restart, adapter gone)."""
        if self._notifying:
            self._notifying = False
            self.emit_properties_changed({"Notifying": False})

    def notify(self, value: bytes) -> bool:
        """Send a value to the subscribers; False when nobody subscribed."""
        if not self._notifying:
            return False
        self._value = value
        self.emit_properties_changed({"Value": value})
        return True


class Advertisement(ServiceInterface):
    """Connectable legacy advertising: flags + our service UUID + a short name (<= 31 bytes)."""

    def __init__(self, name: str, on_release: Callable[[], None]) -> None:
        super().__init__(LE_ADVERTISEMENT)
        self._name = name
        self._on_release = on_release

    @dbus_property(access=PropertyAccess.READ)
    def Type(self) -> DBusStr:
        return "peripheral"

    @dbus_property(access=PropertyAccess.READ)
    def ServiceUUIDs(self) -> StrList:
        return [gatt.SERVICE_UUID]

    @dbus_property(access=PropertyAccess.READ)
    def LocalName(self) -> DBusStr:
        return self._name

    @dbus_property(access=PropertyAccess.READ)
    def Discoverable(self) -> DBusBool:
        return True

    @dbus_method()
    def Release(self) -> None:
        log.debug("BLE: BlueZ released the advertisement")
        self._on_release()


@dataclass(slots=True)
class Application:
    """One export of the whole tree on one bus connection (fresh objects per connection)."""

    service: GattService
    characteristics: dict[str, Characteristic]
    advertisement: Advertisement

    def export(self, bus: MessageBus) -> None:
        bus.export(SERVICE_PATH, self.service)
        for i, ch in enumerate(self.characteristics.values()):
            bus.export(f"{SERVICE_PATH}/char{i}", ch)
        bus.export(ADV_PATH, self.advertisement)

    def notifier(self, name: str) -> NotifyingCharacteristic:
        ch = self.characteristics[name]
        assert isinstance(ch, NotifyingCharacteristic)
        return ch

    def reset_notifications(self) -> None:
        for ch in self.characteristics.values():
            if isinstance(ch, NotifyingCharacteristic):
                ch.reset()
