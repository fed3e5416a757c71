"""Meter drivers: a decoded Telegram -> named fields, alarms and a typed Reading (model.py).

The names below are imported on first use, so that importing one module of this package (the
registry, say) does not load the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatewayd.meters.driver import Driver
    from gatewayd.meters.model import Reading
    from gatewayd.meters.reading import MeterState, build_reading
    from gatewayd.meters.registry import UnknownDriverError, driver_for, driver_names

__all__ = [
    "Driver",
    "MeterState",
    "Reading",
    "UnknownDriverError",
    "build_reading",
    "driver_for",
    "driver_names",
]


def __getattr__(name: str) -> object:
    value: object
    if name == "Driver":
        from gatewayd.meters import driver  # noqa: PLC0415

        value = driver.Driver
    elif name == "Reading":
        from gatewayd.meters import model  # noqa: PLC0415

        value = model.Reading
    elif name in ("MeterState", "build_reading"):
        from gatewayd.meters import reading  # noqa: PLC0415

        value = getattr(reading, name)
    elif name in ("UnknownDriverError", "driver_for", "driver_names"):
        from gatewayd.meters import registry  # noqa: PLC0415

        value = getattr(registry, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value
