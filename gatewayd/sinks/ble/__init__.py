"""BLE GATT server on BlueZ (DESIGN.md §4.4): the phone app reads meters on site."""
