"""The one walk over a clean frame's headers: DLL, then ELL, AFL and TPL as present.

The decoder, `describe`, `--explain` and the duplicate key all read headers through
`walk_headers`; each header comes back typed, with the span of bytes it occupies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gatewayd.wmbus.afl import AflHeader, parse_afl
from gatewayd.wmbus.ci import CI_AFL, CI_TABLE, ELL_CIS, CiInfo
from gatewayd.wmbus.crypto import Ciphers
from gatewayd.wmbus.diehl import DIEHL, rewritten_a_field
from gatewayd.wmbus.ell import ell_encrypted, read_ell, read_open_ell
from gatewayd.wmbus.errors import FrameError, TelegramError, UnsupportedError
from gatewayd.wmbus.frozen import slot_setters
from gatewayd.wmbus.link import Address, LinkHeader, bcd_id, parse_link_header
from gatewayd.wmbus.telegram import EllHeader, TplHeader
from gatewayd.wmbus.tpl import parse_tpl_header

Span = tuple[int, int]  # [start, end) in Headers.frame
DLL_SPAN: Span = (0, 10)


@dataclass(frozen=True, slots=True)
class Headers:
    """Every header of one frame that could be read, in order, with its byte span.

    frame: the clean frame, its ELL payload decrypted when the walk opened it. ci / info: the
    transport layer's CI and its table entry (None when the walk stopped before it). body_at:
    the first byte after the last header read (the APL, or what could not be read). sealed: the
    ELL payload is encrypted and was not opened, so nothing after the ELL was read. complete:
    False only in a lenient walk that stopped at a header it could not read (at body_at).
    """

    frame: bytes
    link: LinkHeader
    ell: EllHeader | None
    ell_span: Span | None
    afl: AflHeader | None
    afl_span: Span | None
    tpl: TplHeader | None
    tpl_span: Span | None
    ci: int | None
    info: CiInfo | None
    body_at: int
    sealed: bool = False
    complete: bool = True

    @property
    def address(self) -> Address:
        """The meter's identity: the long TPL header's address when there is one."""
        tpl = self.tpl
        if tpl is not None and tpl.long_address is not None:
            return tpl.long_address
        return self.link.address

    @property
    def encrypted_ell(self) -> bool:
        return self.ell is not None and ell_encrypted(self.ell)


class LinkCache:
    """Parsed DLL headers by their 10 bytes, at most `max_entries` (emptied when full)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._links: dict[bytes, LinkHeader] = {}

    def __len__(self) -> int:
        return len(self._links)

    def get(self, frame: bytes) -> LinkHeader:
        head = frame[:10]
        link = self._links.get(head)
        if link is None:
            link = parse_link_header(frame)
            if len(self._links) >= self.max_entries:
                self._links.clear()
            self._links[head] = link
        elif frame[0] != len(frame) - 1 or len(frame) < 11:
            link = parse_link_header(frame)  # raises the FrameError the frame deserves
        return link


def walk_headers(
    frame: bytes, *, ell_key: bytes | Callable[[str], bytes | None] | None = None,
    open_ell_payload: bool = True,
    lenient: bool = False, ciphers: Ciphers | None = None, links: LinkCache | None = None,
) -> Headers:  # fmt: skip
    """Read the headers of a clean frame.

    open_ell_payload: verify the ELL PayloadCRC and decrypt an encrypted ELL payload with
    ell_key, or with the key ell_key(link-layer id) gives (NoKeyError / WrongKeyError when that
    fails); when False an encrypted ELL payload
    stays sealed and a clear one is not verified. lenient: a header that cannot be read ends
    the walk (complete=False) instead of raising; the DLL header must always be readable.
    ciphers, links: the caller's cipher contexts and parsed DLL headers (the decoder keeps both).
    Raises only TelegramError subclasses.
    """
    link = parse_link_header(frame) if links is None else links.get(frame)
    a_field = (
        rewritten_a_field(frame, link.address.manufacturer)
        if link.address.manufacturer in DIEHL
        else None
    )
    if a_field is not None:  # Diehl: the identity the meter means (see diehl.py)
        address = Address(link.address.manufacturer, bcd_id(a_field[0:4]), a_field[4],
                          a_field[5], bytes(frame[2:4]) + a_field)  # fmt: skip
        link = LinkHeader(link.length, link.c_field, address)
    return _walk_from(frame, link, ell_key, open_ell_payload, lenient, ciphers)


def open_headers(
    h: Headers, *, ell_key: bytes | Callable[[str], bytes | None] | None = None,
    ciphers: Ciphers | None = None,
) -> Headers:  # fmt: skip
    """What the strict, opening walk_headers(frame, ell_key=...) of a frame gives (or raises),
    from the frame's lenient walk that did not open its ELL payload: the DLL header is not
    read again, and a frame without an ELL is not walked again (the two walks are the same)."""
    if h.complete and h.ell is None:
        return h
    # an ELL to open (from its start: a sealed walk stopped there), or a walk that stopped at a
    # header it could not read (the strict walk raises there, or earlier)
    return _walk_from(h.frame, h.link, ell_key, True, False, ciphers)


def _walk_from(
    frame: bytes, link: LinkHeader, ell_key: bytes | Callable[[str], bytes | None] | None,
    open_ell_payload: bool, lenient: bool, ciphers: Ciphers | None,
) -> Headers:  # fmt: skip
    """walk_headers after the DLL header (`link`, its Diehl identity rewritten)."""
    meter_id = link.address.id
    pos = 10
    ell = ell_span = afl = afl_span = tpl = tpl_span = None
    ci: int | None = None
    info: CiInfo | None = None
    try:
        c = frame[pos]
        if c in ELL_CIS:
            if open_ell_payload:
                key = ell_key(meter_id) if callable(ell_key) else ell_key
                frame, ell, end = read_open_ell(frame, pos, key, meter_id, ciphers)
            else:
                ell, end = read_ell(frame, pos, meter_id)
                if ell_encrypted(ell):
                    return _headers(frame, link, ell, (pos, end), None, None, None, None, None,
                                    None, end, True, True)  # fmt: skip
            ell_span = (pos, end)
            pos = end
            if pos >= len(frame):
                raise FrameError(f"ELL 0x{c:02X} is followed by nothing", meter_id)
            c = frame[pos]
        if c == CI_AFL:
            afl, end = parse_afl(frame, pos, meter_id)
            afl_span = (pos, end)
            pos = end  # parse_afl checked that a CI follows
            c = frame[pos]
        known = CI_TABLE.get(c)
        if known is None or known.layer != "tpl":
            raise UnsupportedError(f"CI 0x{c:02X} is not a layer we decode", meter_id)
        tpl, end = parse_tpl_header(frame, pos, meter_id)
        ci, info, tpl_span = c, known, (pos, end)
        pos = end
    except TelegramError:
        if not lenient:
            raise
        return _headers(frame, link, ell, ell_span, afl, afl_span, tpl, tpl_span, ci, info, pos,
                        False, False)  # fmt: skip
    return _headers(frame, link, ell, ell_span, afl, afl_span, tpl, tpl_span, ci, info, pos,
                    False, True)  # fmt: skip


def _headers(
    frame: bytes, link: LinkHeader, ell: EllHeader | None, ell_span: Span | None,
    afl: AflHeader | None, afl_span: Span | None, tpl: TplHeader | None, tpl_span: Span | None,
    ci: int | None, info: CiInfo | None, pos: int, sealed: bool, complete: bool,
) -> Headers:  # fmt: skip
    """Headers(...), field by field (see frozen.py)."""
    out = _new(Headers)
    _h_frame(out, frame)
    _h_link(out, link)
    _h_ell(out, ell)
    _h_ell_span(out, ell_span)
    _h_afl(out, afl)
    _h_afl_span(out, afl_span)
    _h_tpl(out, tpl)
    _h_tpl_span(out, tpl_span)
    _h_ci(out, ci)
    _h_info(out, info)
    _h_body_at(out, pos)
    _h_sealed(out, sealed)
    _h_complete(out, complete)
    return out


_new = object.__new__
(_h_frame, _h_link, _h_ell, _h_ell_span, _h_afl, _h_afl_span, _h_tpl, _h_tpl_span, _h_ci, _h_info,
 _h_body_at, _h_sealed, _h_complete) = slot_setters(
    Headers, "frame", "link", "ell", "ell_span", "afl", "afl_span", "tpl", "tpl_span", "ci", "info",
    "body_at", "sealed", "complete",
)  # fmt: skip
