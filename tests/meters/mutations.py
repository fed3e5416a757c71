"""What the driver fuzz tests share: wmbusmeters' published telegrams as starting points, and
one way of changing their bytes (values overwritten, the end cut, bytes appended)."""

from __future__ import annotations

import dataclasses

from hypothesis import strategies as st

from gatewayd.wmbus.records import parse_records
from gatewayd.wmbus.telegram import Telegram
from tests.conftest import OWN_VECTORS

PUBLISHED = OWN_VECTORS / "published" / "wmbusmeters.jsonl"

Mutation = tuple[list[tuple[int, int]], int, bytes]  # (position, value) flips, cut, tail

mutation = st.tuples(
    st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255)), max_size=6),
    st.integers(0, 40),
    st.binary(max_size=24),
)


def mutate(data: bytes, flips: list[tuple[int, int]], cut: int, tail: bytes) -> bytes:
    b = bytearray(data)
    for pos, val in flips:
        if b:
            b[pos % len(b)] = val
    return bytes(b[: max(0, len(b) - cut)]) + tail


def mutated(base: Telegram, m: Mutation) -> Telegram:
    """base with its manufacturer data and application layer changed by m, records re-read."""
    apl = mutate(base.apl, *m)
    return dataclasses.replace(
        base,
        manufacturer_data=mutate(base.manufacturer_data or base.apl, *m),
        apl=apl,
        records=parse_records(apl, strict=False).records,
    )
