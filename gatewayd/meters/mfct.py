"""Drivers for meters that put their values in manufacturer-specific data.

Such a driver is a TableDriver for the standard records the meter also sends, plus a function
that reads the vendor's layout (bytes after DIF 0x0F, an 0xFF-VIF record's blob, a whole
manufacturer CI frame) into named fields. Helpers here read the common vendor encodings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gatewayd.meters.driver import Detect, TableDriver
from gatewayd.wmbus.telegram import Telegram

Extract = Callable[[Telegram], dict[str, object]]


@dataclass(frozen=True, slots=True)
class CiDetect:
    """A meter recognised by manufacturer and a manufacturer-specific CI (0xA0-0xB7): for
    vendors whose address bytes do not hold a real version/device type (e.g. Diehl PRIOS)."""

    manufacturer: str
    ci: int


@dataclass(slots=True)  # not frozen: the Driver protocol's attributes are plain (settable) ones
class MfctDriver:
    """base: the standard records (None: the meter sends none); extract: the vendor layout.
    Extracted fields win over same-named fields of the base table. Treat as immutable."""

    name: str
    extract: Extract
    base: TableDriver | None = None
    detect: tuple[Detect, ...] = ()
    aliases: tuple[str, ...] = ()
    ci_detect: tuple[CiDetect, ...] = field(default=())
    outputs: tuple[str, ...] = ()  # the names `extract` can add (for docs/meters.md)

    def fields(self, telegram: Telegram) -> dict[str, object]:
        return self.decode(telegram)[0]

    def alarms(self, telegram: Telegram) -> dict[str, bool] | None:
        return self.decode(telegram)[1]

    def decode(self, telegram: Telegram) -> tuple[dict[str, object], dict[str, bool] | None]:
        if self.base is None:
            out: dict[str, object] = {}
            alarms = None
        else:
            out, alarms = self.base.decode(telegram)
        out.update(self.extract(telegram))
        return out, alarms


def bcd(data: bytes) -> int | None:
    """Little-endian packed BCD; None when a nibble is not a decimal digit."""
    n = 0
    for b in reversed(data):
        hi, lo = b >> 4, b & 0x0F
        if hi > 9 or lo > 9:
            return None
        n = n * 100 + hi * 10 + lo
    return n


def scaled(raw: int, divisor: int) -> int | float:
    """raw / divisor, as an int when whole (so JSON shows 9 rather than 9.0)."""
    q, r = divmod(raw, divisor)
    return q if r == 0 else raw / divisor
