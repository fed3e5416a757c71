"""No input makes a driver raise: every registered driver, fed telegrams whose manufacturer
data, application layer and records are arbitrary (starting from real telegrams of each
family, so the layouts' branches are reached), returns fields or raises only a TelegramError."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.meters import build_reading
from gatewayd.meters.registry import all_drivers
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import TelegramError
from gatewayd.wmbus.link import FrameFormat
from gatewayd.wmbus.records import parse_records
from gatewayd.wmbus.telegram import Telegram
from tests.conftest import OWN_VECTORS, load_vectors

_DRIVERS = all_drivers()
DRIVER_NAMES = {d.name for d in _DRIVERS}


def _bases() -> list[Telegram]:
    out = []
    for v in load_vectors([OWN_VECTORS / "published" / "wmbusmeters.jsonl"]):
        if v["driver"] not in DRIVER_NAMES:
            continue
        key = bytes.fromhex(v["key"]) if v["key"] else None
        try:
            out.append(Decoder().decode(bytes.fromhex(v["telegrams"][-1]), FrameFormat.CLEAN, key))
        except TelegramError:
            continue
    return out


BASES = _bases()


def _mutate(data: bytes, flips: list[tuple[int, int]], cut: int, tail: bytes) -> bytes:
    b = bytearray(data)
    for pos, val in flips:
        if b:
            b[pos % len(b)] = val
    return bytes(b[: max(0, len(b) - cut)]) + tail


mutation = st.tuples(
    st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255)), max_size=6),
    st.integers(0, 40),
    st.binary(max_size=24),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BASES), mutation, st.sampled_from(sorted(DRIVER_NAMES)), st.booleans())
def test_drivers_never_raise_outside_the_error_tree(
    base: Telegram, m: tuple[list[tuple[int, int]], int, bytes], name: str, random_key: bool
) -> None:
    mfct = _mutate(base.manufacturer_data or base.apl, *m)
    apl = _mutate(base.apl, *m)
    records = parse_records(apl, strict=False).records
    tg = dataclasses.replace(
        base,
        manufacturer_data=mfct,
        apl=apl,
        records=records,
        ci=base.ci,
        mfct_key=bytes(range(16)) if random_key else base.mfct_key,
    )
    try:
        build_reading(tg, driver=name)
        build_reading(tg, driver="auto")
    except TelegramError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(BASES), mutation)
def test_mutated_frames_decode_or_raise_telegram_errors(
    base: Telegram, m: tuple[list[tuple[int, int]], int, bytes]
) -> None:
    frame = _mutate(base.frame, *m)
    try:
        tg = Decoder().decode(frame, FrameFormat.CLEAN, base.mfct_key)
        build_reading(tg)
    except TelegramError:
        pass
