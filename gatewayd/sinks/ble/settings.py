"""What the BLE sink needs to know, as one frozen object (built by app.py from config.toml)."""

from __future__ import annotations

from dataclasses import dataclass

from gatewayd.sinks.ble.gatt import Security


@dataclass(frozen=True, slots=True)
class BleSettings:
    """The `[ble]` section plus the gateway id.

    enabled: False means app.py builds no BLE sink at all.
    adapter: the BlueZ adapter name ("hci0" -> /org/bluez/hci0).
    security: "authenticated" (passkey bonds only) or "encrypted" (Just Works bonds too).
    gateway_id: `[gateway] id`; the advertised name is `MS-<gateway_id>`, cut to fit.
    name: an explicit advertised name instead (also cut to fit 31 bytes).
    bus_address: a D-Bus address to use instead of the system bus (tests; None = system bus,
        which honours $DBUS_SYSTEM_BUS_ADDRESS).
    retry_s: how often to retry registering while BlueZ is up but the adapter is not ready,
        and to reconnect when the system bus is gone.
    """

    enabled: bool = True
    adapter: str = "hci0"
    security: Security = "authenticated"
    gateway_id: str = "gateway"
    name: str | None = None
    bus_address: str | None = None
    retry_s: float = 10.0

    @property
    def adapter_path(self) -> str:
        return f"/org/bluez/{self.adapter}"
