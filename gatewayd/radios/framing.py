"""What every binary framer shares: resynchronising on a start byte (pure)."""

from __future__ import annotations

import collections


def skip_to_start(buf: bytearray, sof: int, counters: collections.Counter[str]) -> bool:
    """Drop the bytes before the next start byte, counting them as garbage.

    Returns False when no start byte is left (the buffer is then empty).
    """
    start = buf.find(sof)
    if start < 0:
        counters["garbage_bytes"] += len(buf)
        buf.clear()
        return False
    if start:
        counters["garbage_bytes"] += start
        del buf[:start]
    return True
