"""A pure line splitter for the text-speaking sources (CUL, rtl_wmbus, replay)."""

from __future__ import annotations

import collections

MAX_LINE = 1024  # the longest wM-Bus frame in hex with any prefix fits in ~560 characters


class LineSplitter:
    """Bytes in any chunking -> text lines without their CR/LF. Overlong lines are dropped."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self.counters: collections.Counter[str] = collections.Counter()
        self._buf = bytearray()
        self._skipping = False  # inside an overlong line: drop until the next LF

    def feed(self, data: bytes) -> list[str]:
        if self._buf:  # the start of a line from an earlier chunk
            self._buf += data
            data = bytes(self._buf)
            self._buf.clear()
        *raws, rest = data.split(b"\n")
        out: list[str] = []
        for raw in raws:
            if self._skipping:  # the end of an overlong line
                self._skipping = False
                continue
            if len(raw) > self.max_line:
                self.counters["overlong_lines"] += 1
                continue
            line = raw.decode("ascii", errors="replace").strip("\r\0 \t")
            if line:
                out.append(line)
        if len(rest) > self.max_line:
            if not self._skipping:
                self.counters["overlong_lines"] += 1
            self._skipping = True
        elif rest:
            self._buf += rest
        return out

    def flush(self) -> list[str]:
        """The last line of a stream that ended without a newline."""
        return self.feed(b"\n") if self._buf else []
