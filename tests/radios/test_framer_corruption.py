"""Issue: a corrupt frame must cost only itself. For each binary framer and a recorded stream,
every single-byte corruption of frame k (every position, every other value) loses no frame
other than k, whether the stream arrives whole or frame by frame."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from gatewayd.radios.amb8465 import AmberFramer
from gatewayd.radios.im871a import ImstFramer
from tests.radios.streams import DATA


def recorded_frames(name: str) -> list[bytes]:
    """The messages of a recorded stream: one per paragraph between # comment lines."""
    frames, current = [], ""
    for line in (DATA / name).read_text().splitlines():
        if line.startswith("#"):
            if current:
                frames.append(bytes.fromhex(current))
            current = ""
        else:
            current += re.sub(r"\s", "", line)
    if current:
        frames.append(bytes.fromhex(current))
    return frames


CASES: dict[str, tuple[str, Callable[[], Any]]] = {
    "im871a-crc": ("im871a_crc_stream.hex", lambda: ImstFramer(require_crc=True)),
    "im871a-nocrc": ("im871a_nocrc_stream.hex", ImstFramer),
    "amb8465": ("amb8465_stream.hex", AmberFramer),
}


def is_subsequence(needles: list[Any], haystack: list[Any]) -> bool:
    it = iter(haystack)
    return all(any(n == h for h in it) for n in needles)


@pytest.mark.parametrize("case", CASES)
def test_every_single_byte_corruption_costs_only_its_frame(case: str) -> None:
    name, make = CASES[case]
    frames = recorded_frames(name)
    clean = make().feed(b"".join(frames))
    assert len(clean) == len(frames) >= 5  # the clean stream: every message, nothing else
    for k, frame in enumerate(frames):
        # Frame k's neighbours are what it could swallow: the one before it (still pending) and
        # the two after it. Frames further away are past any span a corrupt k can announce.
        lo, hi = max(k - 1, 0), min(k + 3, len(frames))
        others = clean[lo:k] + clean[k + 1 : hi]
        for pos in range(len(frame)):
            for value in range(256):
                if value == frame[pos]:
                    continue
                bad = frame[:pos] + bytes([value]) + frame[pos + 1 :]
                pieces = [*frames[lo:k], bad, *frames[k + 1 : hi]]
                whole = make().feed(b"".join(pieces))
                assert is_subsequence(others, whole), (k, pos, value)
                live = make()
                got = [m for piece in pieces for m in live.feed(piece)]
                assert is_subsequence(others, got), ("live", k, pos, value)


def test_crc_required_rejects_a_frame_without_crc() -> None:
    crc_less = recorded_frames("im871a_nocrc_stream.hex")
    framer = ImstFramer(require_crc=True)
    assert framer.feed(b"".join(crc_less)) == []
    assert framer.counters["missing_crc"] == len(crc_less)
