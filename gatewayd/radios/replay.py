"""Replay: clean telegrams from a file or stdin at a set rate (demo, debugging, end-to-end tests).

One telegram per line, as any of:
    2A442D2C99…CC24                    hex (spaces, `_` and `|` separators are ignored)
    2A442D2C99…CC24;-71.5              hex ; RSSI in dBm (not finite: dropped and counted)
    {"hex": "2A44…", "rssi_dbm": -71}  JSON (optional "frame_format": "A" or "B" when the hex
                                       still has its DLL CRCs; they are checked and stripped)
    0.70 -64 4D44372C…2DD4             a recording (gatewayd/data/demo-telegrams.txt): offset s,
                                       RSSI dBm, hex; the offset sets the frame's time
                                       (from the start of the replay), not the pace
Blank lines and lines starting with # are skipped, and so is a "# comment" after a telegram;
anything else is counted and skipped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from dataclasses import dataclass

from gatewayd.radios.base import ListenMode, RadioFrame
from gatewayd.radios.delivery import FrameSink
from gatewayd.radios.lines import LineSplitter
from gatewayd.radios.textsource import TextSource, TextSourceRadio
from gatewayd.wmbus.errors import FrameError
from gatewayd.wmbus.link import FrameFormat, strip_crcs

log = logging.getLogger(__name__)

MIN_FRAME = 11
REPEAT_MAX = 10_000  # telegrams kept for repeat=True
_SEPARATORS = str.maketrans("", "", " _|\t")
# "<offset s> <RSSI dBm> <hex>": the offset has a decimal point, which hex never has.
_RECORDING = re.compile(
    r"(?P<offset>\d+\.\d*)\s+(?P<rssi>[-+]?\d+(?:\.\d*)?)\s+(?P<hex>[0-9A-Fa-f]+)"
)


@dataclass(frozen=True, slots=True)
class ReplayTelegram:
    frame: bytes  # clean
    rssi_dbm: float | None
    frame_format: FrameFormat
    rssi_rejected: bool = False  # the line's RSSI was not a finite number: dropped
    offset_s: float | None = None  # a recording line's time since the recording began


@dataclass(frozen=True, slots=True)
class LineParts:
    """What a replay line holds, not yet checked as a frame."""

    data: bytes  # as written: clean, or with DLL CRCs when frame_format is A or B
    rssi_dbm: float | None
    frame_format: FrameFormat
    rssi_rejected: bool = False
    offset_s: float | None = None


def split_line(line: str) -> LineParts | None:
    """One replay line -> its bytes and RSSI, None for a comment; FrameError when it is not
    one of the forms (not hex, bad RSSI, bad JSON). The bytes are not checked as a frame."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    fmt = FrameFormat.CLEAN
    rssi: float | None = None
    offset: float | None = None
    if line.startswith("{"):
        try:
            obj = json.loads(line)
            digits = str(obj["hex"])
            rssi = None if obj.get("rssi_dbm") is None else float(obj["rssi_dbm"])
            fmt = FrameFormat(obj.get("frame_format", "clean"))
        except (ValueError, KeyError, TypeError) as exc:
            raise FrameError(f"bad JSON replay line: {exc}") from None
    else:
        line = line.split("#", 1)[0].strip()  # hex never holds a '#'
        recorded = _RECORDING.fullmatch(line)
        if recorded is not None:
            line = f"{recorded['hex']};{recorded['rssi']}"
            offset = float(recorded["offset"])
        digits, _, rest = line.partition(";")
        if rest.strip():
            try:
                rssi = float(rest)
            except ValueError:
                raise FrameError(f"bad RSSI {rest!r}") from None
    rejected = rssi is not None and not math.isfinite(rssi)
    if rejected:
        rssi = None  # inf / NaN would make invalid JSON downstream
    try:
        data = bytes.fromhex(digits.translate(_SEPARATORS))
    except ValueError:
        raise FrameError("not hex") from None
    return LineParts(data, rssi, fmt, rejected, offset)


def parse_line(line: str) -> ReplayTelegram | None:
    """One replay line -> a telegram, None for a comment; FrameError when it is broken."""
    parts = split_line(line)
    if parts is None:
        return None
    fmt = parts.frame_format
    frame = strip_crcs(parts.data, fmt) if fmt is not FrameFormat.CLEAN else parts.data
    if len(frame) < MIN_FRAME:
        raise FrameError(f"frame too short ({len(frame)} bytes)")
    if frame[0] != len(frame) - 1:
        raise FrameError(f"L field {frame[0]} does not match {len(frame) - 1} bytes")
    return ReplayTelegram(frame, parts.rssi_dbm, fmt, parts.rssi_rejected, parts.offset_s)


class ReplayFramer:
    """Bytes in any chunking -> ReplayTelegrams; broken lines counted."""

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self.counters = self._lines.counters

    def feed(self, data: bytes) -> list[ReplayTelegram]:
        return self._parse(self._lines.feed(data))

    def flush(self) -> list[ReplayTelegram]:
        return self._parse(self._lines.flush())

    def _parse(self, lines: list[str]) -> list[ReplayTelegram]:
        out = []
        for line in lines:
            try:
                t = parse_line(line)
            except FrameError:
                self.counters["bad_lines"] += 1
                continue
            if t is not None:
                self.counters["telegrams"] += 1
                if t.rssi_rejected:
                    self.counters["bad_rssi"] += 1
                out.append(t)
        return out


class ReplayRadio(TextSourceRadio):
    """Telegrams from `device` (a path or "-") at `rate` frames/s (0 = as fast as read).

    With repeat=True the telegrams are replayed in a loop forever (the demo); otherwise
    run() ends at the end of the input.
    """

    kind = "replay"

    def __init__(
        self, device: str, mode: ListenMode, *, rate: float = 1.0, repeat: bool = False
    ) -> None:
        if rate < 0:
            raise ValueError("rate must be >= 0")
        self.device = device
        self.mode = mode
        self.rate = rate
        self.repeat = repeat
        self.framer = ReplayFramer()
        self.counters = self.framer.counters
        self.info: dict[str, str] = {}
        self._source = TextSource(device)
        self._started_at: float | None = None
        self._repeating = False

    async def run(self, deliver: FrameSink) -> None:
        """Each telegram to `deliver` in its turn (`rate`), read as it is needed."""
        seen: list[ReplayTelegram] = []
        start = time.monotonic()
        n = 0
        while True:
            chunk = await self._source.read()
            batch = self.framer.feed(chunk) if chunk else self.framer.flush()
            for t in batch:
                if self.repeat and len(seen) < REPEAT_MAX:
                    seen.append(t)
                await self._pace(start, n)
                n += 1
                deliver(self._frame(t))
            if not chunk:
                break
        self._repeating = True
        while self.repeat and seen:
            for t in seen:
                await self._pace(start, n)
                n += 1
                deliver(self._frame(t))

    def take_received(self) -> list[RadioFrame]:
        return []  # read as it is paced: nothing waits

    async def _pace(self, start: float, n: int) -> None:
        delay = start + n / self.rate - time.monotonic() if self.rate > 0 else 0.0
        await asyncio.sleep(max(delay, 0.0))  # always yield: rate 0 must not starve the loop

    def _frame(self, t: ReplayTelegram) -> RadioFrame:
        now = time.time()
        if self._started_at is None:
            self._started_at = now
        # A recording line keeps its own timing (the first pass; a repeat is stamped now).
        offset = t.offset_s
        received_at = now if offset is None or self._repeating else self._started_at + offset
        return RadioFrame(
            frame=t.frame,
            rssi_dbm=t.rssi_dbm,
            link_mode=self.mode.link_mode,
            frame_format=t.frame_format,
            received_at=received_at,
            radio=self.name,
        )
