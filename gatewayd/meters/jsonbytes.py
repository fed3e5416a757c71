"""Readings and other payloads as compact JSON bytes: orjson where it can, NaN/inf refused."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import orjson


def to_json(obj: Mapping[str, Any], nones: int | None = None) -> bytes:
    """Compact UTF-8 JSON, keys in their own order; NaN/inf are refused (not JSON).

    orjson writes it (a reading in a quarter of the time). What it does not take (a mapping
    that is not a dict, an integer past 64 bits, a key that is not a string) and what it would
    write as null (NaN, inf) go through the standard library, which refuses NaN and inf.

    `nones` is how many None values the caller knows `obj` holds (never more than it holds;
    by default its top-level ones are counted). When the JSON has exactly that many `null`s,
    none of them is a NaN or inf and `obj` is not walked. Any other count (a NaN, a None the
    count missed, "null" inside a string) walks it, so a wrong guess costs time, not safety."""
    try:
        out = orjson.dumps(obj)
    except TypeError:  # orjson.JSONEncodeError
        out = b""
    if out and b"null" in out:
        if nones is None:
            nones = list(obj.values()).count(None) if type(obj) is dict else -1
        if out.count(b"null") != nones and not _finite(obj):
            out = b""
    if not out:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    return out


def _finite(obj: object) -> bool:
    """No NaN or infinity anywhere in a JSON-shaped object."""
    todo = [obj]
    while todo:
        o = todo.pop()
        if isinstance(o, float):
            if not math.isfinite(o):
                return False
        elif isinstance(o, dict):
            todo.extend(o.values())
        elif isinstance(o, list | tuple):
            todo.extend(o)
    return True
