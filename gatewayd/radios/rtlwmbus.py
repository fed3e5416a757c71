"""rtl-wmbus (RTL-SDR) text output, read from a pipeline, FIFO or stdin.

One line per telegram: `MODE;CRC_OK;3OUTOF6_OK;TIMESTAMP;PACKET_RSSI;CURRENT_RSSI;ID;0xHEX`,
with an optional algorithm prefix (`rla;`, `t2a;`) under -v. The hex is CRC-stripped; older
builds left a frame-B L in place, so L is always re-normalised. rtl_wmbus RSSI values are not
calibrated, so frames carry rssi_dbm=None.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
import time
from dataclasses import dataclass

from gatewayd.radios.base import LinkMode, ListenMode, RadioFrame, RadioLost
from gatewayd.radios.delivery import FrameSink
from gatewayd.radios.lines import LineSplitter
from gatewayd.radios.textsource import TextSource, TextSourceRadio
from gatewayd.wmbus.link import FrameFormat

log = logging.getLogger(__name__)

# The default pipeline; rtl_wmbus's -f (exit when the samples stop) is added only when the
# installed build lists it in `rtl_wmbus -h` (builds before 2023-08 print their usage and exit).
SDR_COMMAND = "rtl_sdr -f 868.95M -s 1600000 - 2>/dev/null"
RTL_WMBUS = "rtl_wmbus"
PROBE_TIMEOUT_S = 5.0
_OPTION_F = re.compile(r"(?m)^\s*-f\b|\[-f\]|\s-f\s")
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
            del fields[0]
        mode = MODES.get(fields[0])
        if mode is None or len(fields) < 8 or fields[-1][:2] not in ("0x", "0X"):
            self.counters["other_lines"] += 1
            return None
        link_mode, checks = mode
        for i in checks:
            if fields[i] != "1":
                self.counters["crc_failed"] += 1
                return None
        try:
            frame = bytes.fromhex(fields[-1][2:])
        except ValueError:
            self.counters["bad_hex"] += 1
            return None
        if len(frame) < MIN_FRAME:
            self.counters["short_telegrams"] += 1
            return None
        if frame[0] != len(frame) - 1:
            self.counters["l_renormalised"] += 1
            frame = bytes([len(frame) - 1]) + frame[1:]
        self.counters["telegrams"] += 1
        return RtlTelegram(link_mode, frame)


class RtlWmbusRadio(TextSourceRadio):
    """rtl_wmbus output as RadioFrames. device: "| command", a FIFO or file, "-", or "" (the
    default rtl_sdr | rtl_wmbus pipeline, its options chosen by probing rtl_wmbus).

    The end of a spawned pipeline or FIFO is RadioLost (the supervisor restarts it); the end of
    stdin or a regular file ends run() normally.
    """

    kind = "rtlwmbus"

    def __init__(self, device: str, mode: ListenMode) -> None:
        self.device = device
        self.mode = mode
        self.framer = RtlWmbusFramer()
        self.counters = self.framer.counters
        self.info: dict[str, str] = {}
        self._default = not device
        self._label = self.name  # each frame's `radio`
        self._source = TextSource(device or "| " + SDR_COMMAND + " | " + RTL_WMBUS)

    async def open(self) -> None:
        if self._default:
            options = await probe_options()
            self._source = TextSource(f"| {SDR_COMMAND} | {RTL_WMBUS} {' '.join(options)}")
            self.info = {"command": self._source.device.lstrip("| ")}
        await super().open()

    async def run(self, deliver: FrameSink) -> None:
        """Every telegram to `deliver`, in the read callback that framed it (delivery.py)."""

        def on_data(chunk: bytes) -> None:
            for t in self.framer.feed(chunk):
                deliver(self._frame(t))

        await self._source.stream(on_data, interval_s=self.read_interval_s)
        for t in self.framer.flush():
            deliver(self._frame(t))
        reason = await self._source.end_reason()
        if self._source.is_command or self._is_fifo():
            raise RadioLost(f"{self.name}: {reason}")
        log.info("%s: %s", self.name, reason)

    def take_received(self) -> list[RadioFrame]:
        """The telegrams in what the pipe holds now (a silence reset is about to close it)."""
        return [self._frame(t) for t in self.framer.feed(self._source.read_now())]

    def _frame(self, t: RtlTelegram) -> RadioFrame:
        # frame, rssi_dbm (rtl_wmbus's is not calibrated), link_mode, frame_format, received_at
        return RadioFrame(t.frame, None, t.link_mode, FrameFormat.CLEAN, time.time(), self._label)

    def _is_fifo(self) -> bool:
        return self.device != "-" and not _is_regular_path(self.device)


async def probe_options() -> list[str]:
    """The options the default pipeline passes to the installed rtl_wmbus: ["-f"] when its
    usage (`rtl_wmbus -h`) lists -f, else []. RadioLost when rtl_wmbus cannot be run."""
    try:
        proc = await asyncio.create_subprocess_exec(
            RTL_WMBUS,
            "-h",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
    except OSError as exc:
        reason = f"cannot run {RTL_WMBUS}: {exc.strerror} (is rtl-wmbus installed?)"
        raise RadioLost(reason) from exc
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            usage, _ = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RadioLost(f"{RTL_WMBUS} -h did not finish within {PROBE_TIMEOUT_S:g} s") from None
    options = ["-f"] if _OPTION_F.search(usage.decode("utf-8", "replace")) else []
    log.debug("%s -h lists %s", RTL_WMBUS, options or "no -f")
    return options


def _is_regular_path(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
