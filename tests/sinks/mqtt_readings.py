"""Readings for the MQTT tests, in the documented reading shape (docs/mqtt.md)."""

from __future__ import annotations

import copy
from typing import Any

# The Kamstrup Multical 21 example reading, as the reading format documents it.
KAMSTRUP: dict[str, Any] = {
    "id": "76348799",
    "manufacturer": "KAM",
    "version": 27,
    "device_type": "cold water",
    "meter": "multical21",
    "media": "cold water",
    "rssi_dbm": -71,
    "timestamp": "2026-11-26T08:40:30Z",
    "total_m3": 6.408,
    "target_m3": 6.408,
    "flow_temperature_c": 127,
    "min_external_temperature_last_month_c": 19,
    "current_status": "DRY",
    "status": "DRY",
    "time_dry": "22-31 days",
    "alarms": {"dry": True, "reverse": False, "leak": False, "burst": False, "tamper": False},
    "records": [
        {
            "quantity": "volume",
            "value": 6.408,
            "unit": "m3",
            "storage": 0,
            "tariff": 0,
            "subunit": 0,
            "function": "instantaneous",
            "difvif": "0413",
        }
    ],
}


def numbered(n: int, meter_id: str = "76348799") -> dict[str, Any]:
    """The example reading with its volume set to n litres, so order can be checked."""
    r = copy.deepcopy(KAMSTRUP)
    r["id"] = meter_id
    r["total_m3"] = n / 1000
    r["records"][0]["value"] = n / 1000
    return r


def seq_of(payload: bytes) -> int:
    import json

    total = float(json.loads(payload)["total_m3"])
    return round(total * 1000)
