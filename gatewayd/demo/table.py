"""The demo's live table of meters and counters: redrawn in place on a terminal, plain lines
(one per published reading, counters every 10 s, the table at the end) otherwise."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import TextIO

from gatewayd.config.schema import Config, MeterSettings
from gatewayd.daemon.policy import Decision
from gatewayd.daemon.stats import Stats
from gatewayd.meters.model import Reading
from gatewayd.meters.roles import Role

CLEAR = "\x1b[H\x1b[J"
COLUMNS = ("id", "name", "type", "volume", "flow", "alarms", "last seen", "RSSI")


@dataclass(slots=True)
class Row:
    name: str
    type: str = "-"
    volume: str = "-"
    flow: str = "-"
    alarms: str = "-"
    seen_at: float | None = None
    rssi: str = "-"
    published: int = 0


def _number(value: object, unit: str, digits: int) -> str:
    return f"{value:.{digits}f} {unit}" if isinstance(value, int | float) else "-"


def _alarms(reading: Reading) -> str:
    if reading.alarms is None:
        return "-"
    return ", ".join(k.upper() for k, v in reading.alarms.items() if v) or "none"


class Table:
    def __init__(self, config: Config, stream: TextIO, *, live: bool) -> None:
        self.stream = stream
        self.live = live
        self.stats: Stats | None = None
        self.events: deque[str] = deque(maxlen=6)
        self.rows: dict[str, Row] = {m.id: Row(m.name) for m in config.meters}
        self.started = time.monotonic()

    def update(self, reading: Reading, decision: Decision, meter: MeterSettings) -> None:
        row = self.rows.setdefault(meter.id, Row(meter.name))
        row.type = f"{reading.meter or '?'} ({reading.identity.media or '?'})"
        row.volume = _number(reading.headline(Role.TOTAL_VOLUME), "m3", 3)
        row.flow = _number(reading.headline(Role.VOLUME_FLOW), "m3/h", 3)
        row.alarms = _alarms(reading)
        row.seen_at = time.monotonic()
        rssi = reading.rssi_dbm
        row.rssi = f"{rssi:g} dBm" if isinstance(rssi, int | float) else "-"
        if decision.publish:
            row.published += 1
            if not self.live:
                stamp = time.strftime("%H:%M:%S")
                self._print(
                    f"{stamp} {meter.id} {row.name}: {row.volume}, flow {row.flow}, "
                    f"alarms {row.alarms}, {row.rssi} ({decision.reason})"
                )

    def render(self, *, footer: bool = True) -> str:
        now = time.monotonic()
        cells = [COLUMNS]
        for mid, r in self.rows.items():
            seen = f"{now - r.seen_at:.0f} s ago" if r.seen_at is not None else "not yet"
            cells.append((mid, r.name, r.type, r.volume, r.flow, r.alarms, seen, r.rssi))
        widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        out = [f"gatewayd demo: simulated iM871A, up {now - self.started:.0f} s", "", *lines, ""]
        out.append(self.counters())
        if self.events:
            out += ["", *self.events]
        if self.live and footer:
            out += ["", "Ctrl-C to stop"]
        return "\n".join(out)

    def counters(self) -> str:
        if self.stats is None:
            return "counters: -"
        c = self.stats.counts
        names = (
            "frames", "duplicates", "decoded", "published", "suppressed", "unconfigured",
            "no_key", "wrong_key", "format_unknown", "bad_frame", "bad_crc",
        )  # fmt: skip
        text = "counters: " + ", ".join(f"{n} {c.get(n, 0)}" for n in names)
        dropped = {n: s.get("dropped", 0) for n, s in self.stats.sink_stats().items()}
        if dropped:
            text += ", dropped " + ", ".join(f"{n} {v}" for n, v in dropped.items())
        return text

    def draw(self) -> None:
        if self.live:
            self._print(CLEAR + self.render())
        else:
            self._print(self.counters())

    def final(self) -> None:
        self._print((CLEAR if self.live else "\n") + self.render(footer=False))

    def _print(self, text: str) -> None:
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass
