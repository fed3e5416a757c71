"""Meter drivers: a decoded Telegram -> named fields, alarms and a typed Reading (model.py)."""

from __future__ import annotations

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
