"""rtl-wmbus (RTL-SDR) text output, read from a pipeline, FIFO or stdin.

One line per telegram: `MODE;CRC_OK;3OUTOF6_OK;TIMESTAMP;PACKET_RSSI;CURRENT_RSSI;ID;0xHEX`,
with an optional algorithm prefix (`rla;`, `t2a;`) under -v. The hex is CRC-stripped; older
builds left a frame-B L in place, so L is always re-normalised. rtl_wmbus RSSI values are not
calibrated, so frames carry rssi_dbm=None.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from gatewayd.radios.base import LinkMode, ListenMode, RadioFrame, RadioLost
from gatewayd.radios.lines import LineSplitter
from gatewayd.radios.textsource import TextSource, TextSourceRadio
from gatewayd.wmbus.link import FrameFormat

log = logging.getLogger(__name__)

DEFAULT_COMMAND = "| rtl_sdr -f 868.95M -s 1600000 - 2>/dev/null | rtl_wmbus -f"
ALGORITHM_PREFIXES = frozenset({"rla", "t2a"})
# mode field -> (link mode, which of CRC_OK / 3OUTOF6_OK must be 1)
MODES: dict[str, tuple[LinkMode, tuple[int, ...]]] = {
    "C1": (LinkMode.C1, (1,)),
    "T1": (LinkMode.T1, (1, 2)),
    "S1": (LinkMode.S1, (1,)),
}
MIN_FRAME = 11  # L C M M A A A A A A CI


@dataclass(frozen=True, slots=True)
class RtlTelegram:
    link_mode: LinkMode
    frame: bytes  # clean, L normalised


class RtlWmbusFramer:
    """Bytes in any chunking -> RtlTelegrams; failed-CRC and unparseable lines are counted."""

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self.counters = self._lines.counters

    def feed(self, data: bytes) -> list[RtlTelegram]:
        return [t for line in self._lines.feed(data) if (t := self.parse(line)) is not None]

    def flush(self) -> list[RtlTelegram]:
        return [t for line in self._lines.flush() if (t := self.parse(line)) is not None]

    def parse(self, line: str) -> RtlTelegram | None:
        fields = line.split(";")
        if fields[0] in ALGORITHM_PREFIXES:
            fields = fields[1:]
        mode = MODES.get(fields[0])
        if mode is None or len(fields) < 8 or not fields[-1].lower().startswith("0x"):
            self.counters["other_lines"] += 1
            return None
        link_mode, checks = mode
        if any(fields[i] != "1" for i in checks):
            self.counters["crc_failed"] += 1
            return None
        try:
            frame = bytearray.fromhex(fields[-1][2:])
        except ValueError:
            self.counters["bad_hex"] += 1
            return None
        if len(frame) < MIN_FRAME:
            self.counters["short_telegrams"] += 1
            return None
        if frame[0] != len(frame) - 1:
            self.counters["l_renormalised"] += 1
            frame[0] = len(frame) - 1
        self.counters["telegrams"] += 1
        return RtlTelegram(link_mode, bytes(frame))


class RtlWmbusRadio(TextSourceRadio):
    """rtl_wmbus output as RadioFrames. device: "| command", a FIFO or file, "-", or "" (default).

    The end of a spawned pipeline or FIFO is RadioLost (the supervisor restarts it); the end of
    stdin or a regular file ends frames() normally.
    """

    kind = "rtlwmbus"

    def __init__(self, device: str, mode: ListenMode) -> None:
        self.device = device or DEFAULT_COMMAND
        self.mode = mode
        self.framer = RtlWmbusFramer()
        self.counters = self.framer.counters
        self.info: dict[str, str] = {}
        self._source = TextSource(self.device)

    async def frames(self) -> AsyncIterator[RadioFrame]:
        while True:
            chunk = await self._source.read()
            telegrams = self.framer.feed(chunk) if chunk else self.framer.flush()
            for t in telegrams:
                yield RadioFrame(
                    frame=t.frame,
                    rssi_dbm=None,
                    link_mode=t.link_mode,
                    frame_format=FrameFormat.CLEAN,
                    received_at=time.time(),
                    radio=self.name,
                )
            if not chunk:
                reason = await self._source.end_reason()
                if self._source.is_command or self._is_fifo():
                    raise RadioLost(f"{self.name}: {reason}")
                log.info("%s: %s", self.name, reason)
                return

    def _is_fifo(self) -> bool:
        return self.device != "-" and not _is_regular_path(self.device)


def _is_regular_path(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
