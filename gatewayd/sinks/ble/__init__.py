"""BLE GATT server on BlueZ (DESIGN.md §4.4): the phone app reads meters on site."""

from gatewayd.config.sections import BleSettings
from gatewayd.sinks.ble.sink import BleSink

__all__ = ["BleSettings", "BleSink"]
