"""`gatewayd decode --explain`: a byte-by-byte annotation of one telegram, layer by layer."""

from __future__ import annotations

from gatewayd.wmbus.afl import parse_afl
from gatewayd.wmbus.decode import CI_AFL, Decoder
from gatewayd.wmbus.ell import ELL_CIS, LAYOUTS
from gatewayd.wmbus.errors import TelegramError
from gatewayd.wmbus.link import FrameFormat, strip_crcs
from gatewayd.wmbus.records import parse_header
from gatewayd.wmbus.tpl import CI_TABLE, SECURITY_MODE_NAMES, encrypted_blocks, parse_tpl_header

C_FIELDS = {0x44: "SND_NR", 0x46: "SND_IR", 0x47: "ACC_NR", 0x48: "ACC_DMD", 0x08: "RSP_UD"}
CI_NAMES = {0x8C: "ELL I", 0x8D: "ELL II", 0x8E: "ELL III", 0x8F: "ELL IV", 0x90: "AFL",
            0x78: "TPL none, full APL", 0x79: "TPL none, compact APL", 0x7A: "TPL short",
            0x72: "TPL long", 0x7B: "TPL short, compact APL", 0x73: "TPL long, compact APL",
            0x69: "format frame", 0x6A: "format frame, short TPL", 0x6B: "format frame, long TPL",
            0x8A: "TPL short, no APL", 0x8B: "TPL long, no APL"}  # fmt: skip


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
    pos = 10
    if f[pos] in ELL_CIS:
        ci = f[pos]
        lay = LAYOUTS[ci]
        r.add(pos, pos + 1, f"CI = 0x{ci:02X} {CI_NAMES[ci]}")
        r.add(pos + 1, pos + 2, f"ELL CC = 0x{f[pos + 1]:02X}")
        r.add(pos + 2, pos + 3, f"ELL ACC = {f[pos + 2]}")
        p = pos + 3
        if lay.has_address:
            r.add(p, p + 8, "ELL M2/A2 (address)")
            p += 8
        if lay.has_session:
            sn = int.from_bytes(f[p : p + 4], "little")
            r.add(
                p, p + 4, f"ELL SN: ENC={sn >> 29} time={(sn >> 4) & 0x1FFFFFF} session={sn & 15}"
            )
            state = "decrypted, verified" if telegram.encrypted else "clear"
            r.add(p + 4, p + 6, f"ELL payload CRC ({state})")
            p += 6
        pos = p
    if pos < len(f) and f[pos] == CI_AFL:
        afl, end = parse_afl(f, pos, a.id)
        r.add(pos, pos + 2, f"CI = 0x90 AFL, AFLL = {f[pos + 1]}")
        r.add(pos + 2, end, f"AFL FCL 0x{afl.fcl:04X}, MCL, MCR, MAC (verified)")
        pos = end
    if pos >= len(f):
        return "\n".join(out + r.lines)
    ci = f[pos]
    parsed = parse_tpl_header(f, pos, a.id)
    r.add(pos, pos + 1, f"CI = 0x{ci:02X} {CI_NAMES.get(ci, 'manufacturer specific')}")
    hdr = parsed.header
    if hdr.cfg is not None:
        p = parsed.body_at - (4 if parsed.cfg_ext is None else 5)
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
        if parsed.cfg_ext is not None:
            r.add(p + 4, p + 5, "TPL CFG extension")
    info = CI_TABLE.get(ci)
    apl = telegram.apl
    ar = _Rows(apl, "+")
    note = " (decrypted)" if telegram.encrypted else ""
    if info is not None and info.apl == "compact":
        r.add(parsed.body_at, len(f), f"compact APL: signature {telegram.format_signature:04X}, "
              f"FCRC verified; the equivalent full APL{note}, offsets from its start:")  # fmt: skip
    elif apl:
        r.add(parsed.body_at, len(f), f"APL{note}, offsets from its start:")
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
            h, dp = parse_header(apl, q)
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
