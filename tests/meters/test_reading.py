"""Readings (the documented reading shape, docs/mqtt.md) and per-meter state."""

from __future__ import annotations

import json

import pytest

from gatewayd.meters import MeterState, build_reading
from gatewayd.wmbus.records import Record
from tests.meters.builders import address, record, telegram


def k1_records() -> list[Record]:
    """MULTICAL 21 K1: 02FF20 7100, 0413 6408 l, 4413 6408 l, 615B 7F, 6167 13."""
    return [
        record("02FF20", "7100", kind="bits", quantity="manufacturer specific"),
        record("0413", "08190000", 6.408, quantity="volume", unit="m3"),
        record("4413", "08190000", 6.408, quantity="volume", unit="m3", storage=1),
        record(
            "615B", "7F", 127, quantity="flow temperature", unit="c", function="minimum", storage=1
        ),
        record(
            "6167",
            "13",
            19,
            quantity="external temperature",
            unit="c",
            function="minimum",
            storage=1,
        ),
    ]


def test_k1_reading_layout() -> None:
    r = build_reading(telegram(k1_records()), rssi_dbm=-71, received_at=1795682430).to_dict()
    assert list(r)[:8] == [
        "id", "manufacturer", "version", "device_type", "meter", "media", "rssi_dbm", "timestamp",
    ]  # fmt: skip
    assert r["id"] == "76348799"
    assert r["manufacturer"] == "KAM"
    assert r["version"] == 0x1B
    assert r["device_type"] == r["media"] == "cold water"
    assert r["meter"] == "kamwater"
    assert r["rssi_dbm"] == -71
    assert r["timestamp"] == "2026-11-26T08:40:30Z"
    assert r["total_m3"] == 6.408
    assert r["target_m3"] == 6.408
    assert r["flow_temperature_c"] == 127
    assert r["min_external_temperature_last_month_c"] == 19
    assert r["status"] == r["current_status"] == "DRY"
    assert r["time_dry"] == "22-31 days"
    assert r["alarms"] == {"dry": True, "reverse": False, "leak": False, "burst": False,
                           "tamper": False}  # fmt: skip
    records = r["records"]
    assert isinstance(records, list) and len(records) == 5
    assert records[1] == {
        "quantity": "volume", "value": 6.408, "unit": "m3", "storage": 0, "tariff": 0,
        "subunit": 0, "function": "instantaneous", "difvif": "0413",
    }  # fmt: skip
    assert records[0]["difvif"] == "02FF20"
    assert records[3]["function"] == "minimum" and records[3]["storage"] == 1
    json.dumps(r)  # plain JSON


def test_default_timestamp_is_utc_iso() -> None:
    r = build_reading(telegram(k1_records())).to_dict()
    ts = r["timestamp"]
    assert isinstance(ts, str) and len(ts) == 20 and ts[10] == "T" and ts.endswith("Z")


def test_generic_meter_has_no_alarms_but_all_records() -> None:
    apa = address("ZZZ", "12345678", 0x01, 0x07)  # a meter no driver claims
    t = telegram([record("0413", "E8030000", 1.0, quantity="volume", unit="m3")], addr=apa)
    r = build_reading(t).to_dict()
    assert r["meter"] == "oms"
    assert r["total_m3"] == 1
    assert "alarms" not in r
    assert r["records"] == [{"quantity": "volume", "value": 1.0, "unit": "m3", "storage": 0,
                             "tariff": 0, "subunit": 0, "function": "instantaneous",
                             "difvif": "0413"}]  # fmt: skip


def test_state_keeps_fields_missing_from_a_later_telegram() -> None:
    state = MeterState()
    build_reading(telegram(k1_records()), state=state).to_dict()
    later = telegram(
        [
            record("02FF20", "0000", kind="bits"),
            record("0413", "10190000", 6.416, quantity="volume", unit="m3"),
        ]
    )
    r = build_reading(later, state=state).to_dict()
    assert r["total_m3"] == 6.416  # new value
    assert r["target_m3"] == 6.408  # kept from the first telegram
    assert r["min_external_temperature_last_month_c"] == 19
    assert r["status"] == "OK" and r["time_dry"] == ""
    alarms = r["alarms"]
    assert isinstance(alarms, dict) and alarms["dry"] is False
    records = r["records"]
    assert (
        isinstance(records, list) and len(records) == 2
    )  # records are per telegram, never carried over
    # without state nothing is carried over
    assert "target_m3" not in build_reading(later).to_dict()


def test_state_is_per_meter_and_resets_on_driver_change() -> None:
    state = MeterState()
    build_reading(telegram(k1_records()), state=state).to_dict()
    other = address(meter_id="11111111")
    r = build_reading(telegram([], addr=other), state=state).to_dict()
    assert "total_m3" not in r
    r = build_reading(telegram([], addr=address()), driver="oms", state=state).to_dict()
    assert r["meter"] == "oms" and "target_m3" not in r


def test_state_json_round_trip() -> None:
    state = MeterState()
    build_reading(telegram(k1_records()), state=state).to_dict()
    text = state.to_json()
    again = MeterState.from_json(text)
    assert again.to_json() == text
    assert "76348799" in again and len(again) == 1
    later = telegram([record("0413", "10190000", 6.416, quantity="volume", unit="m3")])
    r = build_reading(later, state=again).to_dict()
    assert r["target_m3"] == 6.408 and r["time_dry"] == "22-31 days"
    alarms = r["alarms"]
    assert isinstance(alarms, dict) and alarms["dry"] is True


@pytest.mark.parametrize(
    "text",
    [
        "nope",
        "[]",
        '{"version": 99, "meters": {}}',
        '{"version": 1, "meters": []}',
        '{"version": 1, "meters": {"1": {"fields": {}}}}',
    ],
)
def test_state_rejects_bad_documents(text: str) -> None:
    with pytest.raises(ValueError, match="meter state"):
        MeterState.from_json(text)
