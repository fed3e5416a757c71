"""The decoder: a clean (or CRC-carrying) frame + keys + compact-format cache in, a Telegram out.

Only TelegramError subclasses leave `Decoder.decode` and `describe`, whatever the input bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gatewayd.wmbus import ell as ell_layer
from gatewayd.wmbus.afl import AflHeader, parse_afl
from gatewayd.wmbus.compact import CompactFormats, expand_compact
from gatewayd.wmbus.errors import FrameError, TelegramError, UnsupportedError
from gatewayd.wmbus.link import Address, FrameFormat, LinkHeader, parse_link_header, strip_crcs
from gatewayd.wmbus.records import Record, parse_headers, parse_records
from gatewayd.wmbus.telegram import EllHeader, Telegram, TplHeader
from gatewayd.wmbus.tpl import CI_TABLE, decrypt_tpl, parse_tpl_header, security_mode

KeyLookup = Mapping[str, bytes] | Callable[[str], bytes | None]

CI_AFL = 0x90


@dataclass(frozen=True, slots=True)
class FrameSummary:
    """What can be said about a frame without a key (for `listen` and unconfigured meters)."""

    address: Address
    ci: int
    encrypted: bool


class Decoder:
    """Decodes telegrams. Holds the key lookup and the compact-format cache (an explicit object,
    so the daemon can persist it); otherwise stateless."""

    def __init__(self, keys: KeyLookup | None = None, formats: CompactFormats | None = None):
        self.formats = formats if formats is not None else CompactFormats()
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
        try:
            return self._decode(strip_crcs(bytes(frame), fmt), key)
        except TelegramError:
            raise
        except (IndexError, ValueError) as exc:  # a truncation a layer did not foresee
            raise FrameError(f"malformed telegram ({exc})") from exc

    def _decode(self, frame: bytes, key: bytes | None) -> Telegram:
        link = parse_link_header(frame)
        address = link.address
        meter_id = address.id
        if key is None:
            key = self.key_for(meter_id)
        pos = 10
        ci = frame[pos]
        ell: EllHeader | None = None
        encrypted = False
        if ci in ell_layer.ELL_CIS:
            ell, frame, pos, encrypted = ell_layer.parse_ell(frame, pos, key, meter_id)
            if pos >= len(frame):
                return _telegram(frame, link, address, ell, None, ci, encrypted, b"", ())
            ci = frame[pos]
        afl: AflHeader | None = None
        if ci == CI_AFL:
            afl, pos = parse_afl(frame, pos, meter_id)
            ci = frame[pos]
        info = CI_TABLE.get(ci)
        if info is None:
            raise UnsupportedError(f"CI 0x{ci:02X} is not a layer we decode", meter_id)
        if info.apl == "cosem":
            raise UnsupportedError(f"CI 0x{ci:02X}: DLMS/COSEM application layer", meter_id)
        parsed = parse_tpl_header(frame, pos, meter_id)
        tpl = parsed.header
        if tpl.long_address is not None:
            address = tpl.long_address
            if key is None:
                key = self.key_for(address.id)
        apl, tpl_encrypted = decrypt_tpl(frame, pos, parsed, address, afl, key, meter_id)
        encrypted = encrypted or tpl_encrypted
        hdr = tpl if tpl.acc is not None else None
        if info.apl == "manufacturer":
            return _telegram(frame, link, address, ell, hdr, ci, encrypted, apl, (), mfct=apl)
        if info.apl == "none":
            return _telegram(frame, link, address, ell, hdr, ci, encrypted, apl, ())
        if info.apl == "format":
            heads = parse_headers(apl)
            sig = self.formats.learn(address, apl)
            recs = tuple(Record(h, None, b"") for h in heads)
            return _telegram(frame, link, address, ell, hdr, ci, encrypted, apl, recs, sig=sig)
        if info.apl == "compact":
            if tpl_encrypted and apl[:2] == b"\x2f\x2f":
                apl = apl[2:]  # the decryption check marker, not part of the compact header
            if len(apl) < 4:
                raise FrameError("compact frame header truncated", meter_id)
            sig = apl[0] | (apl[1] << 8)
            fcrc = apl[2] | (apl[3] << 8)
            full, recs = expand_compact(self.formats, address, sig, fcrc, apl[4:], meter_id)
            return _telegram(
                frame, link, address, ell, hdr, ci, encrypted, full, recs, sig=sig, compact=True
            )
        parsed_records = parse_records(apl, meter_id, strict=False)
        recs = parsed_records.records
        warnings: tuple[str, ...] = ()
        full_sig: int | None = None
        if parsed_records.error is not None:
            if not recs:
                raise FrameError(parsed_records.error, meter_id)
            warnings = (
                f"records from APL offset {parsed_records.error_offset} not decoded: "
                f"{parsed_records.error}",
            )
        elif recs:  # a telegram read only in part must not teach a compact format
            full_sig = self.formats.learn(address, b"".join(r.header.difvif for r in recs))
        return _telegram(
            frame, link, address, ell, hdr, ci, encrypted, apl, recs,
            mfct=parsed_records.manufacturer_data, sig=full_sig, warnings=warnings,
        )  # fmt: skip


def _telegram(
    frame: bytes,
    link: LinkHeader,
    address: Address,
    ell: EllHeader | None,
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
) -> Telegram:
    return Telegram(
        frame=frame,
        link=link,
        address=address,
        ell=ell,
        tpl=tpl,
        ci=ci,
        encrypted=encrypted,
        apl=apl,
        records=records,
        manufacturer_data=mfct,
        compact=compact,
        format_signature=sig,
        warnings=warnings,
    )


def describe(frame: bytes, fmt: FrameFormat = FrameFormat.CLEAN) -> FrameSummary:
    """Identity, first CI and whether a frame is encrypted, without a key."""
    try:
        frame = strip_crcs(bytes(frame), fmt)
        link = parse_link_header(frame)
        address = link.address
        first_ci = frame[10]
        pos = 10
        encrypted = False
        ci = first_ci
        if ci in ell_layer.ELL_CIS:
            encrypted = ell_layer.peek_encrypted(frame, pos)
            pos += 1 + ell_layer.LAYOUTS[ci].header_len
            if ell_layer.LAYOUTS[ci].has_session:
                pos += 2
            ci = frame[pos] if pos < len(frame) else -1
        if ci == CI_AFL and pos + 1 < len(frame):
            pos += 2 + frame[pos + 1]
            ci = frame[pos] if pos < len(frame) else -1
        info = CI_TABLE.get(ci)
        if info is not None and info.header != "none" and not encrypted:
            parsed = parse_tpl_header(frame, pos, address.id)
            if parsed.header.long_address is not None:
                address = parsed.header.long_address
            if parsed.header.cfg is not None:
                encrypted = security_mode(parsed.header.cfg) != 0
        return FrameSummary(address, first_ci, encrypted)
    except TelegramError:
        raise
    except (IndexError, ValueError) as exc:
        raise FrameError(f"malformed telegram ({exc})") from exc
