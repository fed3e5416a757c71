"""BFW 240 radio heat cost allocators (wmbusmeters "bfw240radio").

After the TPL header and 2F 2F the payload (40 bytes) is manufacturer-specific:
bytes 4-5 the previous-period value and 6-7 the current one (big-endian); 18 monthly values of
12 bits packed backwards from byte 36 (newest first); bytes 37-39 the date as BCD day, month,
year.
"""

from __future__ import annotations

from gatewayd.meters.driver import Detect
from gatewayd.meters.mfct import MfctDriver
from gatewayd.wmbus.telegram import Telegram

PAYLOAD_BYTES = 40
HISTORY = 18
HISTORY_END = 36  # the newest value ends in this byte


def history(payload: bytes, n: int) -> int:
    """The n-th (0 = newest) 12-bit monthly value."""
    offset, half = divmod(n * 12, 8)
    if half == 0:
        lo, hi = payload[HISTORY_END - offset], payload[HISTORY_END - 1 - offset] & 0x0F
    else:
        lo, hi = payload[HISTORY_END - 1 - offset], payload[HISTORY_END - offset] >> 4
    return hi << 8 | lo


def extract(telegram: Telegram) -> dict[str, object]:
    p = telegram.apl
    if len(p) < PAYLOAD_BYTES:
        return {}
    out: dict[str, object] = {
        "current_hca": p[6] << 8 | p[7],
        "prev_hca": p[4] << 8 | p[5],
    }
    for n in range(HISTORY):
        out[f"prev_{n + 1:02d}_hca"] = history(p, n)
    out["device_date"] = f"20{p[39]:02x}-{p[38]:02x}-{p[37]:02x}"
    return out


def bfw240radio() -> MfctDriver:
    return MfctDriver(
        name="bfw240radio",
        extract=extract,
        detect=(Detect("BFW", 0x02, 0x08),),
        outputs=(
            "current_hca",
            "prev_hca",
            *(f"prev_{n + 1:02d}_hca" for n in range(HISTORY)),
            "device_date",
        ),
    )
