"""to_json's null count: a reading with None values is not walked for NaN, yet never hides one."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from gatewayd.meters.jsonbytes import to_json


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_number_is_refused_whatever_count_is_given(bad: float) -> None:
    # The caller's count (at most the None values it holds: here one) is a hint: no count,
    # a low one, or the exact one, beside which the non-finite number makes one null more.
    obj: dict[str, Any] = {"rssi_dbm": None, "records": [{"value": bad}]}
    for nones in (None, 0, 1):
        with pytest.raises(ValueError):
            to_json(obj, nones)


def test_a_nested_nan_is_refused_when_the_top_level_count_matches() -> None:
    # Top level holds one None; the nested NaN is written as a second null: walked, refused.
    with pytest.raises(ValueError):
        to_json({"a": None, "inner": {"b": math.nan}})


@pytest.mark.parametrize(
    "obj",
    [
        {"rssi_dbm": None, "total_m3": 1.5},
        {"rssi_dbm": None, "note": "null", "records": [{"value": None}, {"value": 2}]},
        {"null": None, "x": [None, "null"]},
    ],
)
def test_nulls_counted_or_not_give_the_standard_json(obj: dict[str, Any]) -> None:
    expected = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    for nones in (None, 0, 1, 5):
        assert to_json(obj, nones) == expected
