"""EN 13757-3 data records: DIF/DIFE/VIF/VIFE headers and typed values.

Pure functions on bytes. Every parser here raises FrameError and nothing else, for any input.

Speed: a header is parsed once. Its bytes key a bounded HeaderCache of (RecordHeader, data
size, value reader) that the caller owns (the decoder keeps one).
"""

from __future__ import annotations

from dataclasses import dataclass

from gatewayd.wmbus import vif_table as vt
from gatewayd.wmbus import vife_table as vet
from gatewayd.wmbus.datetimes import BY_SIZE
from gatewayd.wmbus.errors import FrameError
from gatewayd.wmbus.frozen import slot_setters
from gatewayd.wmbus.values import INT_CODES, Reader, Value, make_reader, read_lvar


@dataclass(frozen=True, slots=True)
class RecordHeader:
    """Everything the DIF/DIFE/VIF/VIFE bytes of one record say.

    difvif: the header bytes exactly as on air (DIF, DIFEs, VIF, VIFEs; a plain-text VIF's
    length byte and text included). data_code: DIF & 0x0F. size: data length in bytes, -1 for
    variable length (LVAR; the data then starts with the LVAR byte).
    function: "instantaneous" | "maximum" | "minimum" | "error".
    quantity: e.g. "volume", "energy", "flow temperature", "date", "error flags",
    "manufacturer specific", "unknown vif 0x.."; unit: normalised unit name: "m3", "kwh",
    "mj", "c", "k", "m3h", "kw", "kg", "kg/h", "bar", "s", "min", "h", "d", "v", "a", "%", "hca",
    "" (dimensionless) ... (a plain-text VIF's own text).
    scale: raw number * scale = value in unit (= factor * 10**exponent, kept exact in those two).
    kind: how the data is read: "number" | "date" | "datetime" | "time" | "text" | "bits"
    (unsigned) | "id" (identification: hex digits of the reversed bytes, e.g. "03162296") |
    "bytes" (hex string) | "none" (no data).
    combinables: names of the combinable VIFEs in order, e.g. ("backward flow",), including
    "manufacturer 0x0f" for manufacturer-defined VIFEs.
    vif: the value-information code: 0x00-0x7F primary, 0xFBnn / 0xFDnn / 0xEFnn extension
    tables, 0xFFnn manufacturer-specific VIF with its first VIFE (0x7F when it has none).
    status: "" or what a VIFE says about the data: "no data", "overflow", "underflow",
    "data error", "premature end of record", or an EN 13757-3 error code's name.
    vif_range: the range drivers match on (vif_table.VIF_RANGES), "manufacturer specific" for
    VIF 7F/FF, else "other". combinable_codes: the VIFE codes after the VIF (or its extension
    code) masked with 0x7F; the one after a manufacturer VIFE 7F is given as 0x100 | its code.
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
    vif: int = 0
    exponent: int = 0
    factor: int = 1
    status: str = ""
    vif_range: str = "other"
    combinable_codes: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Record:
    """One data record: its header, the decoded value and the data bytes it came from."""

    header: RecordHeader
    value: int | float | str | None
    raw: bytes  # the bytes after the header as on air (LVAR byte included)


@dataclass(frozen=True, slots=True)
class Records:
    """The application layer of one telegram, parsed."""

    records: tuple[Record, ...]
    manufacturer_data: bytes | None = None  # bytes after DIF 0x0F / 0x1F, kept as they are
    more_follows: bool = False  # DIF 0x1F
    # parse_records(strict=False) only: why the walk stopped early (a FrameError's reason) and
    # the offset of the record that could not be read; the records before it are kept.
    error: str | None = None
    error_offset: int | None = None


MAX_EXTENSIONS = 10  # DIFEs, and VIFEs, per record (EN 13757-3)
FILLER = 0x2F
MORE_FOLLOWS = 0x1F
FUNCTIONS = ("instantaneous", "maximum", "minimum", "error")
# data code -> data size; -1 LVAR, -2 special function (DIF xF)
DATA_SIZES = (0, 1, 2, 3, 4, 4, 6, 8, 0, 1, 2, 3, 4, -1, 6, -2)
_Entry = tuple[RecordHeader, int, Reader]


class HeaderCache:
    """Parsed record headers by their bytes, at most `max_entries` (emptied when full).

    The decoder owns one: a meter sends the same few headers over and over, so a record then
    costs a scan of the extension bits, a dict hit and one call. Without one, each call of the
    parsers below uses a cache of its own for that call only.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._entries: dict[bytes, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, hb: bytes) -> _Entry:
        """The parse of header bytes known to be complete (see _header_end)."""
        entry = self._entries.get(hb)
        if entry is None:
            entry = _build(hb)
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[hb] = entry
        return entry


# ---- public API -------------------------------------------------------------------------


def parse_header(
    apl: bytes, pos: int = 0, meter_id: str | None = None, cache: HeaderCache | None = None
) -> tuple[RecordHeader, int]:
    """Parse the DIF/DIFE/VIF/VIFE header at pos; return it and the position of its data."""
    apl = bytes(apl)
    if not 0 <= pos < len(apl):
        raise FrameError(f"record header expected at offset {pos}, data ends", meter_id)
    end = _header_end(apl, pos, meter_id)
    return (HeaderCache() if cache is None else cache).entry(apl[pos:end])[0], end


def parse_headers(
    difvif: bytes, meter_id: str | None = None, cache: HeaderCache | None = None
) -> tuple[RecordHeader, ...]:
    """The headers of a concatenated DIF/VIF string without data (compact-frame formats)."""
    difvif = bytes(difvif)
    cache = HeaderCache() if cache is None else cache
    out: list[RecordHeader] = []
    pos, n = 0, len(difvif)
    while pos < n:
        dif = difvif[pos]
        if dif == FILLER:
            pos += 1
            continue
        if dif & 0x0F == 0x0F:
            raise FrameError(f"special DIF {dif:02X} at offset {pos} in a format", meter_id)
        end = _header_end(difvif, pos, meter_id)
        out.append(cache.entry(difvif[pos:end])[0])
        pos = end
    return tuple(out)


def decode_value(header: RecordHeader, data: bytes, cache: HeaderCache | None = None) -> Value:
    """The value of data for header: exactly header.size bytes (LVAR: LVAR byte + data)."""
    data = bytes(data)
    _, size, reader = (HeaderCache() if cache is None else cache).entry(header.difvif)
    if size < 0:
        value, end = read_lvar(data, 0, header.kind, (header.exponent, header.factor), None)
        if end != len(data):
            raise FrameError(f"LVAR data of {header.difvif.hex().upper()} is {len(data)} bytes")
        return value
    if len(data) != size:
        raise FrameError(
            f"record {header.difvif.hex().upper()} needs {size} data bytes, got {len(data)}"
        )
    return reader(data)


def parse_records(
    apl: bytes,
    meter_id: str | None = None,
    *,
    strict: bool = True,
    cache: HeaderCache | None = None,
) -> Records:
    """Walk the data records of a decrypted application layer (the bytes after the CI/TPL).

    0x2F fillers are skipped; DIF 0x0F (0x1F: and more telegrams follow) and the other special
    DIFs end the records: the rest is manufacturer data. A truncated or malformed record raises
    FrameError; with strict=False the records before it are returned instead, with
    Records.error / error_offset saying what stopped the walk (real meters send trailing
    garbage after valid records, e.g. the Unismart test telegram O7).
    """
    apl = bytes(apl)
    out: list[Record] = []
    entries = HeaderCache() if cache is None else cache
    known = entries._entries
    n = len(apl)
    pos = 0
    try:
        while pos < n:
            dif = apl[pos]
            if dif == FILLER:
                pos += 1
                continue
            if dif & 0x0F == 0x0F:
                return Records(tuple(out), apl[pos + 1 :], dif == MORE_FOLLOWS)
            end = _header_end(apl, pos, meter_id)
            hb = apl[pos:end]
            entry = known.get(hb) or entries.entry(hb)
            size = entry[1]
            if size >= 0:
                stop = end + size
                if stop > n:
                    raise FrameError(
                        f"record {hb.hex().upper()} at offset {pos} needs {size} data bytes, "
                        f"{n - end} left",
                        meter_id,
                    )
                raw = apl[end:stop]
                rec = _new(Record)  # Record(header, value, raw), field by field (frozen.py)
                _r_header(rec, entry[0])
                _r_value(rec, entry[2](raw))
                _r_raw(rec, raw)
                out.append(rec)
            else:
                h = entry[0]
                value, stop = read_lvar(apl, end, h.kind, (h.exponent, h.factor), meter_id)
                out.append(Record(h, value, apl[end:stop]))
            pos = stop
    except FrameError as err:
        if strict:
            raise
        return Records(tuple(out), error=err.reason, error_offset=pos)
    return Records(tuple(out))


_new = object.__new__
_r_header, _r_value, _r_raw = slot_setters(Record, "header", "value", "raw")


# ---- header scanning and building ----------------------------------------------------


def _truncated(what: str, pos: int, meter_id: str | None) -> FrameError:
    return FrameError(f"record at offset {pos} truncated: {what} expected", meter_id)


def _header_end(buf: bytes, pos: int, meter_id: str | None) -> int:
    """Offset just past the header at pos (extension bits followed; plain-text VIF skipped)."""
    n = len(buf)
    b = buf[pos]
    i = pos + 1
    count = 0
    while b & 0x80:
        if i >= n:
            raise _truncated("DIFE", pos, meter_id)
        count += 1
        if count > MAX_EXTENSIONS:
            raise FrameError(f"record at offset {pos} has more than 10 DIFEs", meter_id)
        b = buf[i]
        i += 1
    if i >= n:
        raise _truncated("VIF", pos, meter_id)
    vif = b = buf[i]
    i += 1
    if vif == vt.PLAIN_TEXT:
        i = _skip_text(buf, i, pos, meter_id)
    count = 0
    while b & 0x80:
        if i >= n:
            raise _truncated("VIFE", pos, meter_id)
        count += 1
        if count > MAX_EXTENSIONS:
            raise FrameError(f"record at offset {pos} has more than 10 VIFEs", meter_id)
        b = buf[i]
        i += 1
    if vif == vt.PLAIN_TEXT | 0x80:
        i = _skip_text(buf, i, pos, meter_id)
    return i


def _skip_text(buf: bytes, i: int, pos: int, meter_id: str | None) -> int:
    if i >= len(buf) or i + 1 + buf[i] > len(buf):
        raise _truncated("plain-text VIF", pos, meter_id)
    return i + 1 + buf[i]


def _build(hb: bytes) -> _Entry:
    dif = hb[0]
    storage, tariff, subunit = (dif >> 6) & 1, 0, 0
    i, nth, b = 1, 0, dif
    while b & 0x80:
        b = hb[i]
        storage |= (b & 0x0F) << (1 + 4 * nth)
        tariff |= ((b >> 4) & 0x03) << (2 * nth)
        subunit |= ((b >> 6) & 1) << nth
        nth += 1
        i += 1
    vif = b = hb[i]
    i += 1
    names: list[str] = []
    manufacturer = False
    if vif & 0x7F == vt.PLAIN_TEXT:
        entry = vt.PRIMARY[vt.PLAIN_TEXT]
        code = vt.PLAIN_TEXT
        if vif == vt.PLAIN_TEXT:
            i, text = _text(hb, i)
            entry = entry._replace(unit=text)
    elif vif in vt.EXTENSIONS:
        b = hb[i]
        i += 1
        code = (vif << 8) | (b & 0x7F)
        entry = vt.EXTENSIONS[vif].get(b & 0x7F) or vt.unknown_vif(code)
    elif vif & 0x7F == vt.MANUFACTURER:
        entry = vt.PRIMARY[vt.MANUFACTURER]
        code = vt.MANUFACTURER
        manufacturer = True
        if vif & 0x80:
            b = hb[i]
            i += 1
            code = 0xFF00 | (b & 0x7F)
            names.append(vet.manufacturer_vife(b & 0x7F).name)
    else:
        code = vif & 0x7F
        entry = vt.PRIMARY[code]
    quantity, unit, exponent, kind, factor = entry
    vif_range = vt.MANUFACTURER_RANGE if manufacturer else vt.VIF_RANGES.get(code, "other")
    status = ""
    extended = False
    codes: list[int] = []
    mfct_next = False  # the VIFE after a manufacturer VIFE 7F is the manufacturer's code
    while b & 0x80 and i < len(hb):
        b = hb[i]
        i += 1
        c = b & 0x7F
        codes.append(0x100 | c if mfct_next else c)
        mfct_next = c == vet.MANUFACTURER_VIFE and not mfct_next
        if manufacturer:
            names.append(vet.manufacturer_vife(c).name)
            continue
        if extended:
            vife = vet.extended_vife(c)
            extended = False
        elif c == vet.COMBINABLE_EXTENSION:
            extended = True
            continue
        elif c == vet.MANUFACTURER_VIFE:
            manufacturer = True
            continue
        else:
            vife = vet.COMBINABLE.get(c) or vet.unknown_vife(c)
        names.append(vife.name)
        if vife.unit is not None:
            unit = vife.unit
        if vife.exponent_set is not None:
            exponent, factor = vife.exponent_set, 1
        exponent += vife.exponent
        kind = vife.kind or kind
        unit += vife.unit_suffix
        status = vife.status or status
    if vif == vt.PLAIN_TEXT | 0x80:
        i, unit = _text(hb, i)
    data_code = dif & 0x0F
    size = DATA_SIZES[data_code]
    if size == 0:
        kind = "none"
    elif kind == "date":
        kind = BY_SIZE[size][0] if size in BY_SIZE and data_code in INT_CODES else "number"
    scale = float(factor * 10**exponent) if exponent >= 0 else factor / 10**-exponent
    header = RecordHeader(
        difvif=hb,
        data_code=data_code,
        size=size,
        function=FUNCTIONS[(dif >> 4) & 0x03],
        storage=storage,
        tariff=tariff,
        subunit=subunit,
        quantity=quantity,
        unit=unit,
        scale=scale,
        kind=kind,
        combinables=tuple(names),
        vif=code,
        exponent=exponent,
        factor=factor,
        status=status,
        vif_range=vif_range,
        combinable_codes=tuple(codes),
    )
    return header, size, make_reader(data_code, size, kind, exponent, factor)


def _text(hb: bytes, i: int) -> tuple[int, str]:
    length = hb[i]
    return i + 1 + length, hb[i + 1 : i + 1 + length][::-1].decode("latin-1")
