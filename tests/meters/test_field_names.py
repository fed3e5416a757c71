"""A driver's field never takes the name of a key every reading has (id, version, error, ...):
it would overwrite the link-layer value, and the published JSON Schema types those keys."""

from __future__ import annotations

from gatewayd.meters.catalog import driver_fields
from gatewayd.meters.model import READING_KEYS
from gatewayd.meters.registry import all_drivers


def test_no_driver_field_is_named_like_a_reading_key() -> None:
    clashes = {d.name: sorted(set(driver_fields(d)) & READING_KEYS) for d in all_drivers()}
    assert {k: v for k, v in clashes.items() if v} == {}
