"""Sinks: where published readings go (MQTT outbox, BLE GATT, journald, stdout)."""
