"""BLE Meters and Reading carry each configured meter's health as it is when they are read."""

from __future__ import annotations

import pytest

from gatewayd.meters.model import from_dict
from gatewayd.sinks.base import HealthReport
from gatewayd.sinks.ble import gatt
from gatewayd.sinks.ble.latest import LatestReadings, NotSelectable
from tests.sinks.ble.test_gatt import K1_READING

K1_ID = "76348799"
UNHEARD = "11223344"


def report(meter_id: str, state: str) -> HealthReport:
    return HealthReport(meter_id, meter_id, state, None, None, None, 0)


def test_meters_lists_configured_meters_with_their_health_now() -> None:
    latest = LatestReadings()
    plain = latest.update(from_dict(K1_READING))
    health = {K1_ID: "ok", UNHEARD: "never_heard"}
    latest.health_source = lambda: [report(i, s) for i, s in health.items()]
    page = gatt.decode_meters(latest.meters_value("phone"))
    assert page.known == 2 == latest.known
    unheard, k1 = (gatt.decode_record(r) for r in page.records)  # ascending id
    assert k1.meter_id == K1_ID
    assert (unheard.meter_id, unheard.status, unheard.timestamp) == (UNHEARD, 0xC000, 0)
    assert page.records[1] == plain  # ok: the record as published
    health[K1_ID] = "silent"  # no new reading: the next read shows it at once
    page = gatt.decode_meters(latest.meters_value("phone"))
    assert gatt.decode_record(page.records[1]).status == 0x2001  # dry + silent
    assert gatt.decode_record(latest.reading_value("phone")).status == 0x2001
    # a configured meter not heard yet can be selected: Reading is its n/a record
    latest.select("phone", bytes.fromhex("44332211"))
    assert latest.reading_value("phone") == gatt.unheard_record(UNHEARD, "never_heard")
    with pytest.raises(NotSelectable):
        latest.select("phone", bytes.fromhex("99999999"))


def test_without_a_health_source_nothing_changes() -> None:
    latest = LatestReadings()
    plain = latest.update(from_dict(K1_READING))
    assert latest.reading_value("x") == plain
    assert gatt.decode_meters(latest.meters_value("x")).records == (plain,)
