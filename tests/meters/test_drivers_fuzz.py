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
from gatewayd.wmbus.telegram import Telegram
from tests.conftest import load_vectors
from tests.meters.mutations import PUBLISHED, Mutation, mutate, mutated, mutation

_DRIVERS = all_drivers()
DRIVER_NAMES = {d.name for d in _DRIVERS}


def _bases() -> list[Telegram]:
    out = []
    for v in load_vectors([PUBLISHED]):
        if v["driver"] not in DRIVER_NAMES:
            continue
        key = bytes.fromhex(v["key"]) if v["key"] else None
        try:
            out.append(Decoder().decode(bytes.fromhex(v["telegrams"][-1]), FrameFormat.CLEAN, key))
        except TelegramError:
            continue
    return out


BASES = _bases()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BASES), mutation, st.sampled_from(sorted(DRIVER_NAMES)), st.booleans())
def test_drivers_never_raise_outside_the_error_tree(
    base: Telegram, m: Mutation, name: str, random_key: bool
) -> None:
    tg = mutated(base, m)
    if random_key:
        tg = dataclasses.replace(tg, mfct_key=bytes(range(16)))
    try:
        build_reading(tg, driver=name)
        build_reading(tg, driver="auto")
    except TelegramError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(BASES), mutation)
def test_mutated_frames_decode_or_raise_telegram_errors(base: Telegram, m: Mutation) -> None:
    frame = mutate(base.frame, *m)
    try:
        tg = Decoder().decode(frame, FrameFormat.CLEAN, base.mfct_key)
        build_reading(tg)
    except TelegramError:
        pass
