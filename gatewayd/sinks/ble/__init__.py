"""BLE GATT server on BlueZ (docs/ble.md): the phone app reads meters on site."""

from gatewayd.config.sections import BleSettings
from gatewayd.sinks.ble.sink import BleSink

__all__ = ["BleSettings", "BleSink"]
