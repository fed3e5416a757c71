"""BFW 240 radio: big-endian current/previous values, 12-bit history packed backwards."""

from __future__ import annotations

import dataclasses

from gatewayd.meters import build_reading, driver_for
from gatewayd.wmbus.decode import Decoder
from tests.meters.builders import address, telegram

# wmbusmeters' published example for this driver (not in the shared corpus)
EXAMPLE = (
    "3644D7088877700002087ADBC000002F2F9E1F03C10388152A000000000000000000000000000002"
    "04000404000EE2020AC1321D280221"
)


def pack_history(values: list[int]) -> bytes:
    """Bytes 10-36: 18 values of 12 bits, newest first, as a nibble stream read backwards from
    byte 36 (low nibble first): even values give low byte then high nibble, odd ones high
    nibble then low byte."""
    nibbles: list[int] = []
    for i, v in enumerate(values):
        lo_low, lo_high, hi = v & 0x0F, (v >> 4) & 0x0F, v >> 8
        nibbles += [lo_low, lo_high, hi] if i % 2 == 0 else [hi, lo_low, lo_high]
    out = bytearray(37)
    for k, n in enumerate(nibbles):
        out[36 - k // 2] |= n << (4 * (k % 2))
    return bytes(out[10:])


def test_published_example() -> None:
    r = build_reading(Decoder().decode(bytes.fromhex(EXAMPLE))).to_dict()
    assert r["meter"] == "bfw240radio"
    assert (r["current_hca"], r["prev_hca"]) == (904, 961)
    assert [r[f"prev_{n:02d}_hca"] for n in (1, 2, 3, 4, 5, 9, 10)] == [
        541,
        961,
        522,
        226,
        14,
        2,
        0,
    ]
    assert r["device_date"] == "2021-02-28"


def test_built_payload() -> None:
    hist = [0xABC, 0x123, 0xFFF, 7, *range(14)]
    apl = bytes.fromhex("2F2F011F") + (300).to_bytes(2, "big") + (4095).to_bytes(2, "big")
    apl += bytes(2) + pack_history(hist) + bytes.fromhex("150624")
    t = dataclasses.replace(telegram([], addr=address("BFW", "00707788", 0x02, 0x08)), apl=apl)
    f = driver_for(t.address).fields(t)
    assert (f["prev_hca"], f["current_hca"], f["device_date"]) == (300, 4095, "2024-06-15")
    assert [f[f"prev_{n + 1:02d}_hca"] for n in range(18)] == hist
    assert driver_for(t.address).fields(dataclasses.replace(t, apl=apl[:39])) == {}
