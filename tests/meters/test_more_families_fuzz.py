"""The families added from wmbusmeters' maddalena .. vario451mid and rfmtx1 drivers, each fed
its own published telegrams with arbitrary bytes changed, cut or appended (frame, application
layer, vendor layout): a reading or a TelegramError, never another exception. (The all-driver
fuzz test samples ~90 drivers; this one makes sure every new family gets its share.)"""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.meters import build_reading
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import TelegramError
from gatewayd.wmbus.link import FrameFormat
from gatewayd.wmbus.telegram import Telegram
from tests.conftest import load_vectors
from tests.meters.mutations import PUBLISHED, Mutation, mutate, mutated, mutation

FAMILIES = (
    "maddalena", "microclima", "minomess", "mkradio4a", "munia", "op041a", "pollucomf",
    "qheat5us", "qheat_55_us", "rfmamb", "sensostar", "sharky", "sontex868", "supercal",
    "uiws", "unismart", "vario411", "vario451mid", "rfmtx1",
)  # fmt: skip


def _bases() -> list[tuple[str, Telegram]]:
    out = []
    for v in load_vectors([PUBLISHED]):
        if v["driver"] in FAMILIES:
            key = bytes.fromhex(v["key"]) if v["key"] else None
            tg = Decoder().decode(bytes.fromhex(v["telegrams"][-1]), FrameFormat.CLEAN, key)
            out.append((v["driver"], tg))
    return out


BASES = _bases()


def test_every_family_has_a_base() -> None:
    assert {name for name, _ in BASES} == set(FAMILIES)


@settings(max_examples=250, deadline=None)
@given(st.sampled_from(BASES), mutation)
def test_mutated_layouts_and_records_never_escape_the_error_tree(
    base: tuple[str, Telegram], m: Mutation
) -> None:
    name, tg = base
    changed = mutated(tg, m)
    with contextlib.suppress(TelegramError):
        build_reading(changed, driver=name)


@settings(max_examples=250, deadline=None)
@given(st.sampled_from(BASES), mutation)
def test_mutated_frames_never_escape_the_error_tree(
    base: tuple[str, Telegram], m: Mutation
) -> None:
    name, tg = base
    with contextlib.suppress(TelegramError):
        build_reading(Decoder().decode(mutate(tg.frame, *m), FrameFormat.CLEAN), driver=name)
