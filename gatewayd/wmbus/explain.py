"""`gatewayd decode --explain`: a byte-by-byte annotation of one telegram, layer by layer."""

from __future__ import annotations

from gatewayd.wmbus.ci import CI_TABLE
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.ell import LAYOUTS
from gatewayd.wmbus.errors import TelegramError
from gatewayd.wmbus.link import FrameFormat, strip_crcs
from gatewayd.wmbus.records import parse_header
from gatewayd.wmbus.tpl import SECURITY_MODE_NAMES, encrypted_blocks

C_FIELDS = {0x44: "SND_NR", 0x46: "SND_IR", 0x47: "ACC_NR", 0x48: "ACC_DMD", 0x08: "RSP_UD"}


class _Rows:
    def __init__(self, data: bytes, prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix
        self.lines: list[str] = []

    def add(self, start: int, end: int, text: str, data: bytes | None = None) -> None:
        src = self.data if data is None else data
        span = f"{start:02d}" if end - start <= 1 else f"{start:02d}-{end - 1:02d}"
        span = self.prefix + span
        hexs = src[start:end].hex().upper()
        if len(hexs) > 24:
            hexs = hexs[:22] + ".."
        self.lines.append(f"{span:<8}{hexs:<25}{text}")


def explain(
    data: bytes, fmt: FrameFormat, decoder: Decoder, key: bytes | None = None
) -> str:  # fmt: skip
    """Annotate every byte of a telegram; decryption uses the decoder's keys or `key`."""
    out: list[str] = []
    try:
        frame = strip_crcs(data, fmt)
        if fmt is not FrameFormat.CLEAN:
            out.append(f"frame format {fmt.value}: DLL CRCs checked and removed")
        telegram = decoder.decode(frame, FrameFormat.CLEAN, key)
    except TelegramError as exc:
        out.append(f"cannot decode: {exc}")
        return "\n".join(out)
    f = telegram.frame
    r = _Rows(f)
    a = telegram.link.address
    r.add(0, 1, f"L = {f[0]} ({len(f)} bytes, CRCs excluded)")
    r.add(1, 2, f"C = 0x{f[1]:02X} {C_FIELDS.get(f[1], '')}".rstrip())
    r.add(2, 4, f"M = {a.manufacturer}")
    r.add(4, 8, f"A id = {a.id}")
    r.add(8, 9, f"A version = {a.version} (0x{a.version:02X})")
    r.add(9, 10, f"A device type = {a.media}")
    hs = telegram.headers
    assert hs is not None  # every decoded telegram carries its headers
    if hs.ell is not None and hs.ell_span is not None:
        pos, end = hs.ell_span
        ell = hs.ell
        r.add(pos, pos + 1, f"CI = 0x{ell.ci:02X} {CI_TABLE[ell.ci].name}")
        r.add(pos + 1, pos + 2, f"ELL CC = 0x{ell.cc:02X}")
        r.add(pos + 2, pos + 3, f"ELL ACC = {ell.acc}")
        p = pos + 3
        if LAYOUTS[ell.ci].has_address:
            r.add(p, p + 8, "ELL M2/A2 (address)")
            p += 8
        if ell.session is not None:
            sn = ell.session
            r.add(
                p, p + 4, f"ELL SN: ENC={sn >> 29} time={(sn >> 4) & 0x1FFFFFF} session={sn & 15}"
            )
            state = "decrypted, verified" if hs.encrypted_ell else "clear"
            r.add(p + 4, end, f"ELL payload CRC ({state})")
    if hs.afl is not None and hs.afl_span is not None:
        pos, end = hs.afl_span
        r.add(pos, pos + 2, f"CI = 0x90 AFL, AFLL = {f[pos + 1]}")
        r.add(pos + 2, end, f"AFL FCL 0x{hs.afl.fcl:04X}, MCL, MCR, MAC (verified)")
    hdr, info, span = hs.tpl, hs.info, hs.tpl_span
    if hdr is None or info is None or span is None:
        return "\n".join(out + r.lines)
    pos, body_at = span
    ci = hdr.ci
    r.add(pos, pos + 1, f"CI = 0x{ci:02X} {info.name}")
    if hdr.cfg is not None:
        p = body_at - (4 if hdr.cfg_ext is None else 5)
        if hdr.long_address is not None:
            r.add(
                pos + 1,
                pos + 9,
                f"TPL long address: {hdr.long_address.manufacturer} {hdr.long_address.id}",
            )
        r.add(p, p + 1, f"TPL ACC = {hdr.acc}")
        r.add(p + 1, p + 2, f"TPL status = 0x{hdr.status or 0:02X}")
        mode = SECURITY_MODE_NAMES.get(hdr.security_mode, str(hdr.security_mode))
        r.add(p + 2, p + 4, f"TPL CFG: security {mode}, {encrypted_blocks(hdr.cfg)} blocks")
        if hdr.cfg_ext is not None:
            r.add(p + 4, p + 5, "TPL CFG extension")
    apl = telegram.apl
    ar = _Rows(apl, "+")
    note = " (decrypted)" if telegram.encrypted else ""
    if info.apl == "compact" and telegram.format_signature is not None:
        # (a compact CI in a vendor security mode carries the vendor's layout: no signature)
        r.add(body_at, len(f), f"compact APL: signature {telegram.format_signature:04X}, "
              f"FCRC verified; the equivalent full APL{note}, offsets from its start:")  # fmt: skip
    elif apl:
        r.add(body_at, len(f), f"APL{note}, offsets from its start:")
    q = 0
    idx = 0
    while q < len(apl):
        b = apl[q]
        if b == 0x2F:
            ar.add(q, q + 1, "  filler")
            q += 1
            continue
        if b in (0x0F, 0x1F):
            ar.add(q, len(apl), "  manufacturer specific data")
            break
        try:
            h, dp = parse_header(apl, q, cache=decoder.header_cache)
        except TelegramError:
            ar.add(q, len(apl), "  (unparsed)")
            break
        size = h.size if h.size >= 0 else 1 + (apl[dp] if dp < len(apl) else 0)
        value = telegram.records[idx].value if idx < len(telegram.records) else None
        idx += 1
        desc = f"  {h.quantity} {h.function} s{h.storage} t{h.tariff} u{h.subunit}"
        ar.add(q, dp, desc)
        ar.add(dp, dp + size, f"    = {value} {h.unit}".rstrip())
        q = dp + size
    return "\n".join(out + r.lines + ar.lines)
