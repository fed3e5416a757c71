"""Shared test data for the radio tests: K1 (the Kamstrup MULTICAL 21 example telegram) and
the recorded byte streams."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"

# K1: Kamstrup MC21, clean frame (43 bytes, L = 0x2A).
K1 = bytes.fromhex(
    "2A442D2C998734761B168D2091D37CAC21E1D68CDAFFCD3DC452BD802913FF7B1706CA9E355D6C2701CC24"
)
# K2 on air: a MULTICAL 21 compact frame (clean, 36 bytes), and O1 (OMS Annex N.2.1, clean,
# 47 bytes).
K2 = bytes.fromhex("23442D2C998734761B168D2087D19EAD21C325443F938ED9AA782A78CF326A2A42C3141A")
O1 = bytes.fromhex(
    "2E4493157856341233037A2A0020255923C95AAA26D1B2E7493B013EC4A6F6D3529B520EDFF0EA6DEFC99D6D69EBF3"
)

# K2b: a real encrypted compact frame (clean, 36 bytes).
K2B = bytes.fromhex("23442D2C998734761B168D20983081B2227A6FA1F10E1B79B5EB4B17E81F930E937EE06C")


def long_frame(n: int = 195) -> bytes:
    """A syntactically valid clean frame of n bytes (for frame-B block 3 and length caps)."""
    body = bytes.fromhex("442D2C998734761B16") + bytes([0x7A]) + bytes(range(n - 11))
    return bytes([n - 1]) + body[: n - 1]


def read_hex(name: str) -> bytes:
    """A recorded stream written as hex with # comments (data/*.hex)."""
    text = re.sub(r"#.*", "", (DATA / name).read_text())
    return bytes.fromhex("".join(text.split()))


def read_raw(name: str) -> bytes:
    return (DATA / name).read_bytes()


def chunkings(data: bytes) -> Iterator[list[bytes]]:
    """The stream whole, one byte at a time, and split in two at every position."""
    yield [data]
    yield [data[i : i + 1] for i in range(len(data))]
    for cut in range(1, len(data)):
        yield [data[:cut], data[cut:]]


def feed_all(make: Callable[[], Any], chunks: Iterable[bytes]) -> tuple[list[Any], Any]:
    framer = make()
    out: list[Any] = []
    for c in chunks:
        out.extend(framer.feed(c))
    return out, framer


def rtl_line(frame: bytes, mode: str = "C1") -> bytes:
    """An rtl_wmbus output line for a clean frame, both checks passed."""
    return f"{mode};1;1;2020-01-23 10:25:13.000;97;148;76348799;0x{frame.hex()}\n".encode()
