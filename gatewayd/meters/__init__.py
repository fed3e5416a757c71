"""Meter drivers: a decoded Telegram -> named fields, alarms and a reading (DESIGN.md §4.2)."""

from __future__ import annotations

from gatewayd.meters.driver import Driver
from gatewayd.meters.reading import MeterState, build_reading
from gatewayd.meters.registry import UnknownDriverError, driver_for, driver_names

__all__ = [
    "Driver",
    "MeterState",
    "UnknownDriverError",
    "build_reading",
    "driver_for",
    "driver_names",
]
