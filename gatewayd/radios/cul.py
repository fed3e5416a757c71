"""CUL / nanoCUL running culfw: ASCII lines at 38400 Bd.

Commands: `V` (version, contains "CUL"), `X21` (append LQI and RSSI; no reply), then
`brc`/`brt` (C or T receive; replies CMODE/TMODE). A telegram line is `b` + hex of frame A
with its DLL CRCs, or `bY` + hex of frame B with its CRCs, then 2 hex LQI + 2 hex RSSI.
We strip and check the CRCs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from gatewayd.radios.base import LinkMode, ListenMode, RadioConfigError, RadioFrame, RadioLost
from gatewayd.radios.lines import LineSplitter
from gatewayd.radios.serialradio import SerialRadio
from gatewayd.wmbus.errors import FrameError
from gatewayd.wmbus.link import FrameFormat, frame_a_size, frame_b_size, strip_crcs

# culfw's C receiver also hears T1 (wmbusmeters: "c mode (with t)"), so C1+T1 is `brc`.
MODE_COMMANDS: dict[ListenMode, tuple[str, str]] = {
    ListenMode.C1: ("brc", "CMODE"),
    ListenMode.T1: ("brt", "TMODE"),
    ListenMode.C1_T1: ("brc", "CMODE"),
}
VERSION_COMMAND = "V"
REPORT_RSSI_COMMAND = "X21"


@dataclass(frozen=True, slots=True)
class CulTelegram:
    frame: bytes  # clean
    frame_format: FrameFormat  # A or B, as it was on air
    lqi: int | None
    rssi_raw: int | None


@dataclass(frozen=True, slots=True)
class CulText:
    line: str


def rssi_dbm(raw: int) -> float:
    """CC1101: (int8)raw / 2 − 74, keeping the half dB."""
    signed = raw - 256 if raw >= 128 else raw
    return signed / 2 - 74


def parse_line(line: str) -> CulTelegram | CulText:
    """One culfw line. Raises FrameError for a telegram line that is broken or fails its CRC."""
    if not line.startswith("b"):
        return CulText(line)
    fmt, digits = (FrameFormat.B, line[2:]) if line.startswith("bY") else (FrameFormat.A, line[1:])
    if len(digits) % 2:
        raise FrameError(f"odd number of hex digits ({len(digits)}): nanoCUL truncation?")
    try:
        data = bytes.fromhex(digits)
    except ValueError:
        raise FrameError("not hex") from None
    if not data:
        raise FrameError("empty telegram line")
    size = frame_a_size(data[0]) if fmt is FrameFormat.A else frame_b_size(data[0])
    trailer = len(data) - size
    if trailer not in (0, 2):
        raise FrameError(f"L={data[0]} needs {size} bytes on air, line has {len(data)}")
    lqi, rssi = (data[size], data[size + 1]) if trailer else (None, None)
    return CulTelegram(strip_crcs(data[:size], fmt), fmt, lqi, rssi)


_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


class CulFramer:
    """Bytes in any chunking -> CulTelegram / CulText; bad telegram lines are counted."""

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self.counters = self._lines.counters

    def feed(self, data: bytes) -> list[CulTelegram | CulText]:
        out: list[CulTelegram | CulText] = []
        for raw in self._lines.feed(data):
            # culfw prints only ASCII: binary line noise ends at its last unprintable character
            line = _UNPRINTABLE.split(raw)[-1]
            if line != raw:
                self.counters["noisy_lines"] += 1
            try:
                item = parse_line(line)
            except FrameError:
                self.counters["bad_telegrams"] += 1
                continue
            self.counters["telegrams" if isinstance(item, CulTelegram) else "text_lines"] += 1
            out.append(item)
        return out


def command(text: str) -> bytes:
    return text.encode("ascii") + b"\r\n"


def _text_containing(*words: str) -> Callable[[CulTelegram | CulText], bool]:
    return lambda item: isinstance(item, CulText) and any(w in item.line for w in words)


class CulRadio(SerialRadio[CulTelegram | CulText]):
    kind = "cul"
    baudrate = 38400

    def new_framer(self) -> CulFramer:
        return CulFramer()

    async def configure(self) -> None:
        version = await self.request(
            command(VERSION_COMMAND), _text_containing("CUL"), "version query"
        )
        assert isinstance(version, CulText)
        self.info = {"version": version.line}
        # LQI+RSSI reporting first, so that no telegram arrives without them (no reply to X21)
        await self.send(command(REPORT_RSSI_COMMAND))
        text, want = MODE_COMMANDS[self.mode]
        reply = await self.request(command(text), _text_containing("MODE", "OFF"), f"'{text}'")
        assert isinstance(reply, CulText)
        if "OFF" in reply.line and want not in reply.line:
            raise RadioConfigError(
                f"{self.name}: the firmware ({self.info['version']}) answered '{text}' with "
                f"{reply.line!r}: it cannot receive mode {self.mode.value} (a-culfw and culfw "
                "before 2018 have no C mode). Flash a culfw with wM-Bus C mode, or set mode t1."
            )
        if want not in reply.line:
            raise RadioLost(f"{self.name}: '{text}' answered {reply.line!r}, expected {want}")

    def to_frame(self, item: CulTelegram | CulText) -> RadioFrame | None:
        if isinstance(item, CulText):
            return None
        # bY is only ever C1 frame B; a plain b line is whatever mode we listen in.
        link_mode = LinkMode.C1 if item.frame_format is FrameFormat.B else self.link_mode
        return RadioFrame(
            frame=item.frame,
            rssi_dbm=None if item.rssi_raw is None else rssi_dbm(item.rssi_raw),
            link_mode=link_mode,
            frame_format=item.frame_format,
            received_at=time.time(),
            radio=self.label,
        )
