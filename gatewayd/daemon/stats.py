"""The daemon's counters: shown in systemd's STATUS=, the demo, and the MQTT stats topic."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Protocol

from gatewayd.wmbus.errors import (
    FormatUnknownError,
    FrameError,
    NoKeyError,
    TelegramError,
    UnsupportedError,
    WrongKeyError,
)

# Counter name -> what it counts. The names are a contract (MQTT stats topic, STATUS=).
COUNTERS: dict[str, str] = {
    "frames": "telegrams received from the radio",
    "bad_crc": "frames the radio dropped for a DLL CRC error",
    "duplicates": "copies of a telegram already seen within the dedup window",
    "unconfigured": "telegrams from meters not in the config",
    "bad_frame": "malformed telegrams (lengths, headers, records)",
    "unsupported": "valid telegrams we do not decode (CI, security mode, fragments, "
    "manufacturer layouts no driver reads)",
    "no_key": "encrypted telegrams from a configured meter with no key",
    "wrong_key": "telegrams whose key did not verify",
    "format_unknown": "compact telegrams whose format has not been learned yet",
    "decoded": "telegrams decoded into readings",
    "driver_errors": "readings a meter driver failed to build",
    "published": "readings handed to the sinks",
    "unstored": "readings dropped while the disk refused them (they reached no sink)",
    "suppressed": "readings the publish policy held back (unchanged)",
}

# Decoder error class -> counter (matched by class; any other TelegramError is a bad frame)
ERROR_COUNTERS: tuple[tuple[type[TelegramError], str], ...] = (
    (FrameError, "bad_frame"),
    (UnsupportedError, "unsupported"),
    (NoKeyError, "no_key"),
    (WrongKeyError, "wrong_key"),
    (FormatUnknownError, "format_unknown"),
)


def error_counter(exc: TelegramError) -> str:
    """The counter a decoder error is counted in."""
    for cls, counter in ERROR_COUNTERS:
        if isinstance(exc, cls):
            return counter
    return "bad_frame"


class _HasStats(Protocol):
    name: str

    def stats(self) -> dict[str, int]: ...


class Stats:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started = clock()
        self.counts: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self._sinks: list[_HasStats] = []

    def incr(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def attach_sinks(self, sinks: Iterable[_HasStats]) -> None:
        self._sinks = list(sinks)

    def sink_stats(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for s in self._sinks:
            try:
                out[s.name] = dict(s.stats())
            except Exception:  # a sink's bug must not break STATUS=
                out[s.name] = {}
        return out

    def snapshot(self) -> dict[str, object]:
        """Counters, uptime, and each sink's own counters (e.g. dropped) as a JSON object."""
        return {
            "uptime_s": round(self._clock() - self.started),
            **self.counts,
            "sinks": self.sink_stats(),
        }

    def status_line(self) -> str:
        """One short line for systemd's STATUS=."""
        c = self.counts
        text = (
            f"{c['frames']} frames, {c['decoded']} decoded, {c['published']} published, "
            f"{c['duplicates']} dup, {c['no_key'] + c['wrong_key']} key errors, "
            f"{c['format_unknown']} fmt unknown, {c['bad_crc']} bad crc"
        )
        dropped = sum(s.get("dropped", 0) for s in self.sink_stats().values())
        return text + (f", {dropped} dropped" if dropped else "")
