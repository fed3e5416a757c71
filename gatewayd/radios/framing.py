"""What every start-byte framer shares (iM871A, AMB8465): one classify loop that loses nothing good.

A module's framer says, for a candidate frame at a start byte, whether it is complete and
passes its check (`classify`). The loop here decides which candidates to believe:

* A candidate that fails (bad header, bad CRC or checksum) costs one byte: the search goes on at
  the next start byte, which may lie inside the broken frame.
* A candidate found by such a search ("resync"), or one whose check is weak (no CRC, an XOR
  checksum), is believed only when no start byte inside its span begins a frame that passes on
  its own. Otherwise a false start inside a broken frame could swallow the good frame after it:
  that good frame wins, and the false start is counted as `overlapped_candidates`.
* Until that can be decided (the inner frame is not complete yet) the loop waits for more bytes.

So a frame that fails its check never makes the framer skip bytes of the next good frame.
"""

from __future__ import annotations

import abc
import collections
import enum
from typing import ClassVar, Generic, TypeVar

Item = TypeVar("Item")


class Verdict(enum.Enum):
    NEED_MORE = "need more"  # the header is plausible, the rest has not arrived yet
    BAD = "bad"  # not a frame here: counted under `reason`, skip one byte
    GOOD = "good"  # complete and its check (CRC, checksum) passed
    WEAK = "weak"  # complete, but nothing strong vouches for it (no CRC)


_STRONG = frozenset({Verdict.GOOD})
_PASSING = frozenset({Verdict.GOOD, Verdict.WEAK})


class StartByteFramer(abc.ABC, Generic[Item]):
    """Bytes in any chunking -> items. Subclasses set `sof` and write `classify` and `build`."""

    sof: ClassVar[int]

    def __init__(self) -> None:
        self.counters: collections.Counter[str] = collections.Counter()
        self._buf = bytearray()
        self._resync = False  # the next candidate was found by skipping bytes

    @abc.abstractmethod
    def classify(self, buf: bytearray, at: int) -> tuple[Verdict, int, str]:
        """(verdict, size, reason) for a candidate starting at buf[at] == sof.

        size: the frame's length in bytes once the header is complete (else 0); reason: the
        counter to bump for BAD.
        """

    @abc.abstractmethod
    def build(self, frame: bytes) -> Item:
        """The item for the bytes of one accepted frame."""

    def feed(self, data: bytes) -> list[Item]:
        buf = self._buf
        buf += data
        out: list[Item] = []
        pos = 0
        while True:
            at = buf.find(self.sof, pos)
            if at < 0:
                self.counters["garbage_bytes"] += len(buf) - pos
                pos = len(buf)
                break
            if at > pos:
                self.counters["garbage_bytes"] += at - pos
                self._resync = True
            verdict, size, reason = self.classify(buf, at)
            if verdict is Verdict.BAD:
                self.counters[reason] += 1
                pos, self._resync = at + 1, True
                continue
            if self._resync or verdict is not Verdict.GOOD:
                # A frame still arriving, found by skipping bytes, or without a strong check
                # loses to a frame inside it that passes (a CRC-checked one only to an inner
                # CRC-checked frame).
                beaten_by = _STRONG if verdict is Verdict.GOOD else _PASSING
                end = len(buf) if verdict is Verdict.NEED_MORE else at + size
                inner = self._frame_inside(buf, at + 1, end, beaten_by)
                if inner is True:
                    self.counters["overlapped_candidates"] += 1
                    pos, self._resync = at + 1, True
                    continue
                if inner is None and verdict is not Verdict.NEED_MORE:
                    pos = at  # decide once the inner candidate is complete
                    break
            if verdict is Verdict.NEED_MORE:
                pos = at
                break
            out.append(self.build(bytes(buf[at : at + size])))
            self.counters["messages"] += 1
            pos, self._resync = at + size, False
        del buf[:pos]
        return out

    def _frame_inside(
        self, buf: bytearray, start: int, end: int, passing: frozenset[Verdict]
    ) -> bool | None:
        """True: a start byte in buf[start:end] begins a frame whose verdict is in `passing`.
        None: one might, but it is not complete yet. False: none does."""
        undecided = False
        at = buf.find(self.sof, start, end)
        while at >= 0:
            verdict, _, _ = self.classify(buf, at)
            if verdict in passing:
                return True
            undecided |= verdict is Verdict.NEED_MORE
            at = buf.find(self.sof, at + 1, end)
        return None if undecided else False
