"""Which driver decodes which meter: auto-detection by manufacturer, version and device type
(as wmbusmeters' driver "detect" blocks), explicit names and aliases, the OMS fallback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from gatewayd.meters.apator162 import Apator162
from gatewayd.meters.driver import Detect, Driver, TableDriver
from gatewayd.meters.kamstrup_heat import kamheat
from gatewayd.meters.kamstrup_other import kampress, omnipower
from gatewayd.meters.kamstrup_water import kamwater
from gatewayd.meters.oms import oms
from gatewayd.wmbus.link import Address

# Every built-in driver, most specific first. The factories build fresh, immutable tables.
FACTORIES: tuple[Callable[[], TableDriver], ...] = (kamwater, kamheat, kampress, omnipower, oms)


class _Listed(Driver, Protocol):
    detect: tuple[Detect, ...]
    aliases: tuple[str, ...]


_DRIVERS: tuple[_Listed, ...] = (*(f() for f in FACTORIES), Apator162())
BY_NAME: dict[str, Driver] = {}
for _d in _DRIVERS:
    BY_NAME[_d.name] = _d
    for _alias in _d.aliases:
        BY_NAME[_alias] = _d
BY_MVT: dict[tuple[str, int, int], Driver] = {
    (m.manufacturer, m.version, m.device_type): d for d in _DRIVERS for m in d.detect
}
GENERIC: Driver = BY_NAME["oms"]


class UnknownDriverError(ValueError):
    """A driver name that no built-in driver answers to."""


def driver_names() -> list[str]:
    """Every name (driver or alias) accepted by driver_for, sorted."""
    return sorted({"auto", *BY_NAME})


def detect(address: Address) -> Driver:
    """The driver for this meter by (manufacturer, version, device type); the OMS driver if none."""
    return BY_MVT.get((address.manufacturer, address.version, address.device_type), GENERIC)


def driver_for(address: Address, name: str = "auto") -> Driver:
    """The driver named `name` ("auto": detect it from the address). Raises UnknownDriverError."""
    if name == "auto":
        return detect(address)
    try:
        return BY_NAME[name.lower()]
    except KeyError:
        raise UnknownDriverError(
            f"unknown meter driver {name!r}; known: {', '.join(driver_names())}"
        ) from None
