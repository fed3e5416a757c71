"""A table field can name the Nth record that matches it (wmbusmeters' index_nr), counted in
telegram order among the records its match accepts, not among all records."""

from __future__ import annotations

from gatewayd.meters.driver import TableDriver
from gatewayd.meters.fields import FieldSpec, Match
from gatewayd.wmbus.records import Record
from tests.meters.builders import record, telegram


def volume(value: float, storage: int = 0) -> Record:
    dif = "04" if storage == 0 else "44"
    return record(dif + "13", "00000000", value, quantity="volume", unit="m3", storage=storage)


def temperature(value: float) -> Record:
    return record("025B", "0000", value, quantity="flow temperature", unit="c")


DRIVER = TableDriver(
    name="indexed",
    field_specs=(
        FieldSpec("first_m3", Match(vif="volume"), unit="m3"),
        FieldSpec("second_m3", Match(vif="volume", index=2), unit="m3"),
        FieldSpec("third_m3", Match(vif="volume", index=3), unit="m3"),
        FieldSpec("flow_c", Match(vif="flow temperature"), unit="c"),
    ),
)


def test_the_nth_matching_record_feeds_the_field() -> None:
    # a storage-1 volume and a temperature sit between them: neither is counted
    records = [volume(1.5), volume(9.0, storage=1), temperature(40), volume(2.5), volume(3.5)]
    got = DRIVER.fields(telegram(records))
    assert got == {"first_m3": 1.5, "flow_c": 40, "second_m3": 2.5, "third_m3": 3.5}


def test_a_field_whose_nth_record_is_missing_is_absent() -> None:
    got = DRIVER.fields(telegram([volume(1.5), volume(2.5)]))
    assert got == {"first_m3": 1.5, "second_m3": 2.5}


def test_each_layout_counts_its_own_records() -> None:
    # the driver keeps a plan per sequence of record headers: a shorter layout after a longer
    # one must not reuse the longer one's counts
    assert DRIVER.fields(telegram([volume(1.0), volume(2.0), volume(3.0)]))["third_m3"] == 3.0
    assert DRIVER.fields(telegram([volume(1.0), temperature(5)])) == {"first_m3": 1.0, "flow_c": 5}
