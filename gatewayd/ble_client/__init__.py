"""The reference BLE client (`gatewayd ble scan/read/check`): the phone's side of docs/ble.md,
on BlueZ through bleak (the optional `ble-client` extra, imported only by these commands)."""
