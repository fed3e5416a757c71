"""The decoder: a clean (or CRC-carrying) frame + keys + compact-format cache in, a Telegram out.

Only TelegramError subclasses leave `Decoder.decode` and `describe`, whatever the input bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gatewayd.wmbus.compact import CompactFormats, expand_compact
from gatewayd.wmbus.crypto import Ciphers
from gatewayd.wmbus.errors import FrameError, UnsupportedError
from gatewayd.wmbus.frozen import slot_setters
from gatewayd.wmbus.headers import Headers, LinkCache, open_headers, walk_headers
from gatewayd.wmbus.layouts import LayoutCache
from gatewayd.wmbus.link import Address, FrameFormat, strip_crcs
from gatewayd.wmbus.records import HeaderCache, Record, parse_headers
from gatewayd.wmbus.telegram import Telegram, TplHeader
from gatewayd.wmbus.tpl import VENDOR_MODES, decrypt_tpl, vendor_layout

KeyLookup = Mapping[str, bytes] | Callable[[str], bytes | None]


@dataclass(frozen=True, slots=True)
class FrameSummary:
    """What can be said about a frame without a key (for `listen` and unconfigured meters)."""

    address: Address
    ci: int
    encrypted: bool


class Decoder:
    """Decodes telegrams. Holds the key lookup, the compact-format cache (an explicit object,
    so the daemon can persist it) and a bounded cache of parsed record headers."""

    def __init__(self, keys: KeyLookup | None = None, formats: CompactFormats | None = None):
        self.formats = formats if formats is not None else CompactFormats()
        self.header_cache = HeaderCache()  # parsed record headers, bounded
        self.layouts = LayoutCache()  # each meter's record layout, bounded
        self.ciphers = Ciphers()  # AES contexts per key, bounded
        self.links = LinkCache()  # parsed DLL headers, bounded
        self._keys = keys

    def key_for(self, meter_id: str) -> bytes | None:
        keys = self._keys
        if keys is None:
            return None
        if callable(keys):
            return keys(meter_id)
        return keys.get(meter_id)

    def decode(
        self, frame: bytes, fmt: FrameFormat = FrameFormat.CLEAN, key: bytes | None = None
    ) -> Telegram:
        """Decode one frame; `key` overrides the key lookup. Raises only TelegramError."""
        return self._decode(strip_crcs(bytes(frame), fmt), key)

    def decode_walked(self, heads: Headers) -> Telegram:
        """decode(frame) of a clean frame whose lenient walk without opening the ELL payload
        (walk_headers(frame, open_ell_payload=False, lenient=True)) the caller has made: the
        headers it read are not read again. Raises only TelegramError."""
        return self._telegram(open_headers(heads, ell_key=self.key_for, ciphers=self.ciphers))

    def _decode(self, frame: bytes, key: bytes | None) -> Telegram:
        h = walk_headers(
            frame,
            ell_key=self.key_for if key is None else key,
            ciphers=self.ciphers,
            links=self.links,
        )
        return self._telegram(h, key)

    def _telegram(self, h: Headers, key: bytes | None = None) -> Telegram:
        """The telegram of a frame whose headers a strict walk read (its ELL payload open)."""
        frame, afl = h.frame, h.afl
        tpl, info, tpl_span = h.tpl, h.info, h.tpl_span
        assert tpl is not None and info is not None and tpl_span is not None  # a strict walk
        address = h.address
        meter_id = address.id
        ci = tpl.ci
        if info.apl == "cosem":
            raise UnsupportedError(f"CI 0x{ci:02X}: DLMS/COSEM application layer", meter_id)
        mode = tpl.security_mode
        if key is None and (mode != 0 or info.apl == "manufacturer"):  # (else it is not used)
            # the meter's own identity (the long TPL header's), not a radio converter's, names
            # its key; the link-layer identity's key is the fallback
            key = self.key_for(meter_id)
            if key is None and tpl.long_address is not None:
                key = self.key_for(h.link.address.id)
        if mode == 0:  # what decrypt_tpl gives for it
            apl, tpl_encrypted, short = frame[tpl_span[1] :], False, None
        else:
            apl, tpl_encrypted, short = decrypt_tpl(
                frame, tpl_span, tpl, address, afl, key, meter_id, self.ciphers
            )
        notes: tuple[str, ...] = () if short is None else (short,)
        encrypted = h.encrypted_ell or tpl_encrypted
        hdr = tpl if tpl.acc is not None else None
        if info.apl == "manufacturer" or (
            mode >= VENDOR_MODES and vendor_layout(frame, tpl, address, tpl_span[1])
        ):
            return _telegram(
                h, address, hdr, ci, encrypted, apl, (), mfct=apl, mfct_key=key, warnings=notes
            )
        if info.apl == "none":
            return _telegram(h, address, hdr, ci, encrypted, apl, (), warnings=notes)
        if info.apl == "format":
            heads = parse_headers(apl, meter_id, self.header_cache)
            sig = self.formats.learn(address, apl)
            recs = tuple(Record(head, None, b"") for head in heads)
            return _telegram(h, address, hdr, ci, encrypted, apl, recs, sig=sig, warnings=notes)
        if info.apl == "compact":
            if tpl_encrypted and apl[:2] == b"\x2f\x2f":
                apl = apl[2:]  # the decryption check marker, not part of the compact header
            if len(apl) < 4:
                raise FrameError("compact frame header truncated", meter_id)
            sig = apl[0] | (apl[1] << 8)
            fcrc = apl[2] | (apl[3] << 8)
            full, recs = expand_compact(
                self.formats, address, sig, fcrc, apl[4:], meter_id, self.header_cache
            )
            return _telegram(
                h, address, hdr, ci, encrypted, full, recs, sig=sig, compact=True, warnings=notes
            )
        parsed_records = self.layouts.parse(apl, meter_id, self.header_cache)  # parse_records
        recs = parsed_records.records
        warnings = notes
        full_sig: int | None = None
        if parsed_records.error is not None:
            if not recs:
                raise FrameError(parsed_records.error, meter_id)
            warnings += (
                f"records from APL offset {parsed_records.error_offset} not decoded: "
                f"{parsed_records.error}",
            )
        elif recs and not notes:  # a telegram read only in part must not teach a format
            full_sig = self.formats.learn(address, b"".join([r.header.difvif for r in recs]))
        return _telegram(
            h, address, hdr, ci, encrypted, apl, recs,
            mfct=parsed_records.manufacturer_data, sig=full_sig, warnings=warnings,
        )  # fmt: skip


def _telegram(
    h: Headers,
    address: Address,
    tpl: TplHeader | None,
    ci: int,
    encrypted: bool,
    apl: bytes,
    records: tuple[Record, ...],
    *,
    mfct: bytes | None = None,
    sig: int | None = None,
    compact: bool = False,
    warnings: tuple[str, ...] = (),
    mfct_key: bytes | None = None,
) -> Telegram:
    # Telegram(...) field by field, as its __init__ would set them (see frozen.py)
    t = _new(Telegram)
    _t_frame(t, h.frame)
    _t_link(t, h.link)
    _t_address(t, address)
    _t_ell(t, h.ell)
    _t_tpl(t, tpl)
    _t_ci(t, ci)
    _t_encrypted(t, encrypted)
    _t_apl(t, apl)
    _t_records(t, records)
    _t_mfct(t, mfct)
    _t_compact(t, compact)
    _t_sig(t, sig)
    _t_warnings(t, warnings)
    _t_headers(t, h)
    _t_mfct_key(t, mfct_key)
    return t


_new = object.__new__
(_t_frame, _t_link, _t_address, _t_ell, _t_tpl, _t_ci, _t_encrypted, _t_apl, _t_records, _t_mfct,
 _t_compact, _t_sig, _t_warnings, _t_headers, _t_mfct_key) = slot_setters(
    Telegram, "frame", "link", "address", "ell", "tpl", "ci", "encrypted", "apl", "records",
    "manufacturer_data", "compact", "format_signature", "warnings", "headers", "mfct_key",
)  # fmt: skip


def describe(frame: bytes, fmt: FrameFormat = FrameFormat.CLEAN) -> FrameSummary:
    """Identity, first CI and whether a frame is encrypted, without a key."""
    return summarize(
        walk_headers(strip_crcs(bytes(frame), fmt), open_ell_payload=False, lenient=True)
    )


def summarize(h: Headers) -> FrameSummary:
    """describe() from a lenient walk that did not open the ELL payload."""
    encrypted = h.encrypted_ell
    tpl = h.tpl
    if tpl is not None and tpl.cfg is not None:
        encrypted = encrypted or tpl.security_mode != 0
    return FrameSummary(h.address, h.frame[10], encrypted)
