"""Duplicate telegrams: the same telegram heard twice within `window_s`.

The key is computed before decryption from the clean frame: M, ID, VER, TYPE, the chain of
ELL / AFL / TPL headers (CI, ACC, SN, ...) and the bytes that follow the last header we can
read in clear (compared whole: cheaper than a checksum in Python, and exact). A repeater sets
the ELL CC H/R bits or the TPL CFG HC/RA bits and leaves everything else alone, so those bits
are masked. The C field is left out for the same reason. Kamstrup's 16 s transmissions carry a
new ACC and SN, so they are new telegrams, not duplicates.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from gatewayd.wmbus.ell import CC_HOP, CC_REPEATED
from gatewayd.wmbus.errors import TelegramError
from gatewayd.wmbus.headers import Headers, walk_headers
from gatewayd.wmbus.tpl import CFG_HOP, CFG_REPEATED

_ELL_CC_MASK = 0xFF & ~(CC_HOP | CC_REPEATED)
_TPL_CFG_MASK = 0xFF & ~(CFG_HOP | CFG_REPEATED)  # the low CFG byte


def dedup_key(frame: bytes, headers: Headers | None = None) -> bytes:
    """The identity of a telegram for duplicate detection (never raises). `headers`: the
    frame's lenient walk without opening the ELL payload, when the caller has made it."""
    h = headers
    if h is None:
        try:
            h = walk_headers(frame, open_ell_payload=False, lenient=True)
        except TelegramError:  # not even a DLL header
            return b"\x00" + frame
    key = bytearray(frame[2:10])  # M(2) ID(4) VER TYPE
    if h.ell_span is not None:
        start, end = h.ell_span
        header = bytearray(frame[start:end])
        header[1] &= _ELL_CC_MASK
        key += header
    if h.afl_span is not None:
        key += frame[h.afl_span[0] : h.afl_span[1]]
    tpl, span = h.tpl, h.tpl_span
    if tpl is not None and span is not None:
        header = bytearray(frame[span[0] : span[1]])
        if tpl.cfg is not None:
            header[(9 if tpl.long_address is not None else 1) + 2] &= _TPL_CFG_MASK
        key += header
    return bytes(key) + frame[h.body_at :]


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

    def is_duplicate(self, frame: bytes, key: bytes | None = None) -> bool:
        """`key`: dedup_key(frame), when the caller has computed it."""
        now = self._clock()
        self._expire(now)
        if key is None:
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
