"""Every registered driver, on its own: fed arbitrary variations of its family's published
telegrams (and of other families'), it returns fields or raises only a TelegramError. The
shared fuzz test samples a driver per example; this one gives each driver its own examples, so
a driver added later is exercised however many others there are."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.meters import build_reading
from gatewayd.meters.registry import ENTRY_BY_NAME, all_drivers, load
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import TelegramError
from gatewayd.wmbus.link import FrameFormat
from gatewayd.wmbus.telegram import Telegram
from tests.conftest import load_vectors
from tests.meters.mutations import PUBLISHED, Mutation, mutated, mutation

EXAMPLES_PER_DRIVER = 25
_DRIVERS = all_drivers()
BY_NAME = {name: load(e) for name, e in ENTRY_BY_NAME.items()}


def _family_bases() -> dict[str, list[Telegram]]:
    """Driver name -> the decoded published telegrams of its family."""
    out: dict[str, list[Telegram]] = {}
    for v in load_vectors([PUBLISHED]):
        d = BY_NAME.get(v["driver"])
        if d is None:
            continue
        key = bytes.fromhex(v["key"]) if v["key"] else None
        for t in v["telegrams"]:
            try:
                tg = Decoder().decode(bytes.fromhex(t), FrameFormat.CLEAN, key)
            except TelegramError:
                continue
            out.setdefault(d.name, []).append(tg)
    return out


BASES = _family_bases()
ANY_BASE = [tg for tgs in BASES.values() for tg in tgs]


@pytest.mark.parametrize("name", sorted({d.name for d in _DRIVERS}))
def test_each_driver_never_raises_outside_the_error_tree(name: str) -> None:
    own = BASES.get(name, [])

    @settings(max_examples=EXAMPLES_PER_DRIVER, deadline=None, database=None)
    @given(st.sampled_from(own or ANY_BASE), st.sampled_from(ANY_BASE), st.booleans(), mutation)
    def run(
        mine: Telegram,
        other: Telegram,
        use_other: bool,
        m: Mutation,
    ) -> None:
        base = other if use_other else mine
        tg = mutated(base, m)
        try:
            reading = build_reading(tg, driver=name)
        except TelegramError:
            return
        assert reading.to_dict()["meter"] == BY_NAME[name].name

    run()
