"""The demo's recorded telegrams: how gatewayd/data/demo-telegrams.txt was made.

Two minutes of a small site, encrypted with the demo keys (published here and in config.toml;
they protect nothing): a MULTICAL 21 (full frame every 8th, compact in between, a leak that
starts and clears), a flowIQ 2200, an OMS mode-5 water meter, a meter nobody configured, and a
repeater's copy of some telegrams (hop bit set) for dedup to drop. Kamstrup meters send every
16 s; the recording is sped up 8x.

    python -m gatewayd.demo.data > gatewayd/data/demo-telegrams.txt

Line format: `<offset s> <RSSI dBm> <clean frame hex>  # comment`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

from gatewayd.wmbus.encode import kamstrup_c1, oms_mode5

DEMO_KEYS: dict[str, str] = {
    "20406080": "D3E0C0DE00000000000000000000A021",  # MULTICAL 21
    "20406081": "D3E0C0DE00000000000000000000F102",  # flowIQ 2200
    "30415263": "D3E0C0DE000000000000000000000E55",  # OMS water, mode 5
}
STRANGER_KEY = "D3E0C0DE0000000000000000DEADBEEF"  # a neighbour's meter, not configured
DURATION_S = 120.0

MC21_LAYOUT = ("02FF20", "0413", "4413", "615B", "6167")
FLOWIQ_LAYOUT = (
    "04FF23", "0413", "4413", "426C", "023B", "92013B", "A2013B", "06FF1B", "A1015B", "91015B",
    "A10167",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Line:
    offset_s: float
    rssi_dbm: float
    frame: bytes
    comment: str

    def text(self) -> str:
        return f"{self.offset_s:.2f} {self.rssi_dbm:g} {self.frame.hex().upper()}  # {self.comment}"


def _key(meter: str) -> bytes:
    return bytes.fromhex(DEMO_KEYS.get(meter, STRANGER_KEY))


def _u(n: int, size: int) -> bytes:
    return (n & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


def _mc21(n: int, t: float) -> Line:
    leak_now = 30 <= t < 70
    info = (0x0004 if leak_now else 0) | ((1 << 10) if t >= 70 else 0)  # leak 1-8 h afterwards
    total_l = 123_456 + int(t * 2.5) + (int((min(t, 70) - 30) * 4) if t >= 30 else 0)
    data = {
        "02FF20": _u(info, 2),
        "0413": _u(total_l, 4),
        "4413": _u(120_000, 4),
        "615B": bytes([9]),
        "6167": bytes([21]),
    }
    frame = kamstrup_c1(
        meter_id="20406080",
        key=_key("20406080"),
        records=[(h, data[h]) for h in MC21_LAYOUT],
        compact=n % 8 != 0,
        acc=n,
        session=0x1A2B00 + n * 16,
    )
    kind = "full" if n % 8 == 0 else "compact"
    return Line(t, -71 - (n % 3), frame, f"MULTICAL 21 {kind}{', leak' if leak_now else ''}")


def _flowiq(n: int, t: float) -> Line:
    flow_lh = (0, 0, 310, 540, 480, 120)[n % 6]
    data = {
        "04FF23": _u(0, 4),
        "0413": _u(44_206 + n * 3, 4),
        "4413": _u(43_108, 4),
        "426C": bytes.fromhex("812A"),
        "023B": _u(flow_lh, 2),
        "92013B": _u(540, 2),
        "A2013B": _u(0, 2),
        "06FF1B": bytes.fromhex("067000097000"),
        "A1015B": bytes([12]),
        "91015B": bytes([20]),
        "A10167": bytes([19]),
    }
    frame = kamstrup_c1(
        meter_id="20406081",
        key=_key("20406081"),
        records=[(h, data[h]) for h in FLOWIQ_LAYOUT],
        compact=n % 8 != 0,
        acc=n,
        session=0x0C0D00 + n * 16,
        manufacturer="KAW",
        version=0x3A,
    )
    return Line(t, -64, frame, f"flowIQ 2200 {'full' if n % 8 == 0 else 'compact'}")


def _oms(n: int, t: float) -> Line:
    records = [("0413", _u(88_120 + n * 17, 4)), ("023B", _u(204 if n % 2 else 0, 2))]
    frame = oms_mode5(
        manufacturer="DWZ",
        meter_id="30415263",
        version=0x02,
        device_type=0x07,
        key=_key("30415263"),
        records=records,
        acc=n,
    )
    return Line(t, -83, frame, "OMS water meter, mode 5")


def _stranger(n: int, t: float) -> Line:
    data = [("02FF20", _u(0, 2)), ("0413", _u(77_000 + n, 4))]
    frame = kamstrup_c1(meter_id="55443322", key=_key("55443322"), records=data, acc=n)
    return Line(t, -95, frame, "a neighbour's meter (not configured)")


def _repeated(line: Line) -> Line:
    frame = bytearray(line.frame)
    frame[11] |= 0x10  # ELL CC: hop bit set by a repeater; otherwise the same telegram
    return Line(line.offset_s + 0.15, line.rssi_dbm - 9, bytes(frame), "repeater copy")


def lines() -> Iterator[Line]:
    out: list[Line] = []
    for n in range(int(DURATION_S / 2)):
        line = _mc21(n, n * 2.0)
        out.append(line)
        if n % 5 == 2:
            out.append(_repeated(line))
    out += [_flowiq(n, 0.7 + n * 3.0) for n in range(int(DURATION_S / 3))]
    out += [_oms(n, 1.3 + n * 5.0) for n in range(int(DURATION_S / 5))]
    out += [_stranger(n, 4.1 + n * 10.0) for n in range(int(DURATION_S / 10))]
    yield from sorted(out, key=lambda x: x.offset_s)


def render() -> str:
    head = "# gatewayd demo telegrams: made by `python -m gatewayd.demo.data`; do not edit\n"
    return head + "".join(line.text() + "\n" for line in lines())


if __name__ == "__main__":
    sys.stdout.write(render())
