"""Duplicate telegrams (PROTOCOL.md §7): the same telegram heard twice within `window_s`.

The key is computed before decryption from the clean frame: M, ID, VER, TYPE, the chain of
ELL / AFL / TPL headers (CI, ACC, SN, ...) and the CRC-16 of whatever follows the last header
we can read in clear. A repeater sets the ELL CC H/R bits or the TPL CFG HC/RA bits and leaves
everything else alone, so those bits are masked. The C field is left out for the same reason.
Kamstrup's 16 s transmissions carry a new ACC and SN, so they are new telegrams, not duplicates.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from gatewayd.wmbus.crc import crc16_en13757

# ELL CI -> (header length from the CI on, offset of SN or None)
_ELL: dict[int, tuple[int, int | None]] = {
    0x8C: (3, None),
    0x8D: (9, 3),
    0x8E: (11, None),
    0x8F: (17, 11),
}
_ELL_CC_MASK = 0xFF & ~0x12  # H (hop) and R (repeated access)
# TPL CI -> offset of the 16-bit CFG word from the CI (short or long header)
_TPL_CFG: dict[int, int] = {0x7A: 3, 0x7B: 3, 0x72: 11, 0x73: 11}
_TPL_CFG_MASK = 0xFF & ~0x03  # HC (hop counter) and RA (repeated access), low CFG byte
_AFL = 0x90


def dedup_key(frame: bytes) -> bytes:
    """The identity of a telegram for duplicate detection (never raises)."""
    if len(frame) < 11:
        return b"\x00" + frame
    key = bytearray(frame[2:10])  # M(2) ID(4) VER TYPE
    pos = 10
    ci = frame[pos]
    if ci in _ELL:
        size, sn_at = _ELL[ci]
        header = bytearray(frame[pos : pos + size])
        if len(header) < size:
            return b"\x00" + frame
        header[1] &= _ELL_CC_MASK
        key += header
        pos += size
        if sn_at is not None and int.from_bytes(header[sn_at : sn_at + 4], "little") >> 29:
            return bytes(key) + _crc(frame[pos:])  # encrypted from here on (PLCRC + payload)
        ci = frame[pos] if pos < len(frame) else -1
    if ci == _AFL and pos + 1 < len(frame):
        size = 2 + frame[pos + 1]
        key += frame[pos : pos + size]
        pos += size
        ci = frame[pos] if pos < len(frame) else -1
    if ci in _TPL_CFG:
        cfg_at = _TPL_CFG[ci]
        header = bytearray(frame[pos : pos + cfg_at + 2])
        if len(header) == cfg_at + 2:
            header[cfg_at] &= _TPL_CFG_MASK
            key += header
            pos += cfg_at + 2
    return bytes(key) + _crc(frame[pos:])


def _crc(data: bytes) -> bytes:
    return crc16_en13757(data).to_bytes(2, "little") + len(data).to_bytes(2, "little")


class Dedup:
    """Remembers telegram keys for `window_s` seconds, at most `max_entries` (oldest dropped).

    `is_duplicate(frame)` returns True for a copy of a telegram first seen less than
    `window_s` ago; a copy seen later counts as new and restarts the window.
    """

    def __init__(
        self,
        window_s: float,
        *,
        max_entries: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.max_entries = max_entries
        self._clock = clock
        self._seen: OrderedDict[bytes, float] = OrderedDict()  # key -> first seen, oldest first

    def __len__(self) -> int:
        return len(self._seen)

    def is_duplicate(self, frame: bytes) -> bool:
        now = self._clock()
        self._expire(now)
        key = dedup_key(frame)
        first = self._seen.get(key)
        if first is not None and now - first < self.window_s:
            return True
        self._seen[key] = now
        self._seen.move_to_end(key)
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        return False

    def _expire(self, now: float) -> None:
        while self._seen:
            key, first = next(iter(self._seen.items()))
            if now - first < self.window_s:
                return
            del self._seen[key]
