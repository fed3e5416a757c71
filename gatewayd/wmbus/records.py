"""EN 13757-3 data records: DIF/DIFE/VIF/VIFE headers and typed values. (Being written.)"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RecordHeader:
    """Everything the DIF/DIFE/VIF/VIFE bytes of one record say.

    difvif: the header bytes exactly as on air (DIF, DIFEs, VIF, VIFEs).
    data_code: DIF & 0x0F. size: data length in bytes, -1 for variable length (LVAR).
    function: "instantaneous" | "maximum" | "minimum" | "error".
    quantity: e.g. "volume", "energy", "flow temperature", "date", "error flags".
    unit: normalised unit name: "m3", "kwh", "c", "k", "m3h", "kw", "kg", "bar", "s", "min",
    "h", "d", "v", "a", "%", "hca", "" (dimensionless) ...
    scale: raw number * scale = value in unit. kind: how the data is read:
    "number" | "date" | "datetime" | "time" | "text" | "bits" | "bytes" | "none".
    combinables: names of the combinable VIFEs in order, e.g. ("backward flow",).
    """

    difvif: bytes
    data_code: int
    size: int
    function: str
    storage: int
    tariff: int
    subunit: int
    quantity: str
    unit: str
    scale: float
    kind: str
    combinables: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Record:
    """One data record: its header, the decoded value and the data bytes it came from."""

    header: RecordHeader
    value: int | float | str | None
    raw: bytes


@dataclass(frozen=True, slots=True)
class Records:
    """The application layer of one telegram, parsed."""

    records: tuple[Record, ...]
    manufacturer_data: bytes | None = None  # bytes after DIF 0x0F / 0x1F, kept as they are
    more_follows: bool = False  # DIF 0x1F
