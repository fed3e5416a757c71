"""Our own telegram encoder: the inverse of the decoder, for tests, benchmarks and the demo.

It builds clean frames (no DLL CRCs; use link.add_crcs for frame A/B) for the shapes gatewayd
decodes: Kamstrup C1 (ELL II with AES-128-CTR, full CI 0x78 and compact CI 0x79 APL) and OMS
(CI 0x7A/0x72 with security mode 5, ELL I + AFL + mode 7). Everything here is written from the
specification independently of the decoding path, except the shared CRC and AES primitives.
"""

from __future__ import annotations

from collections.abc import Sequence

from gatewayd.wmbus.crc import crc16_en13757
from gatewayd.wmbus.crypto import ZERO_IV, aes_cbc_encrypt, aes_ctr, cmac, kdf_a
from gatewayd.wmbus.link import id_bytes, manufacturer_value

Record = tuple[str, bytes]  # (DIF/VIF header hex, data bytes)


def address_bytes(manufacturer: str, meter_id: str, version: int, device_type: int) -> bytes:
    """M(2) ‖ ID(4) ‖ VER ‖ TYPE as on air."""
    return (
        manufacturer_value(manufacturer).to_bytes(2, "little")
        + id_bytes(meter_id)
        + bytes([version, device_type])
    )


def apl(records: Sequence[Record]) -> bytes:
    """A full APL: each record's DIF/VIF bytes followed by its data."""
    return b"".join(bytes.fromhex(h) + d for h, d in records)


def format_bytes(records: Sequence[Record]) -> bytes:
    return b"".join(bytes.fromhex(h) for h, _ in records)


def compact_apl(records: Sequence[Record]) -> bytes:
    """The compact form of the same records: SIG ‖ FCRC ‖ data only."""
    sig = crc16_en13757(format_bytes(records))
    fcrc = crc16_en13757(apl(records))
    return sig.to_bytes(2, "little") + fcrc.to_bytes(2, "little") + b"".join(d for _, d in records)


def _frame(c_field: int, addr: bytes, body: bytes) -> bytes:
    length = 1 + len(addr) + len(body)
    if length > 255:
        raise ValueError(f"telegram too long ({length} bytes after L)")
    return bytes([length, c_field]) + addr + body


def kamstrup_c1(
    *,
    meter_id: str,
    key: bytes | None,
    records: Sequence[Record],
    compact: bool = False,
    acc: int = 0,
    session: int = 0,
    manufacturer: str = "KAM",
    version: int = 0x1B,
    device_type: int = 0x16,
    cc: int = 0x20,
) -> bytes:
    """A Kamstrup C1 telegram: DLL ‖ 8D CC ACC SN ‖ [PLCRC ‖ 78|79 APL], CTR-encrypted if key.

    session: the 29 low bits of SN (session counter + time); ENC = 1 is set when a key is given.
    """
    addr = address_bytes(manufacturer, meter_id, version, device_type)
    payload = (b"\x79" + compact_apl(records)) if compact else (b"\x78" + apl(records))
    plcrc = crc16_en13757(payload).to_bytes(2, "little")
    sn = (session & 0x1FFFFFFF) | ((1 << 29) if key is not None else 0)
    sn_bytes = sn.to_bytes(4, "little")
    clear = plcrc + payload
    if key is not None:
        iv = addr + bytes([cc & 0xED]) + sn_bytes + b"\x00\x00\x00"
        clear = aes_ctr(key, iv, clear)
    return _frame(0x44, addr, bytes([0x8D, cc, acc & 0xFF]) + sn_bytes + clear)


def _pad_2f(data: bytes) -> bytes:
    return data + b"\x2f" * (-len(data) % 16)


def oms_mode5(
    *,
    manufacturer: str,
    meter_id: str,
    version: int,
    device_type: int,
    key: bytes | None,
    records: Sequence[Record],
    acc: int = 0,
    status: int = 0,
    long_header: Sequence[object] | None = None,
    tail: bytes = b"",
) -> bytes:
    """OMS CI 0x7A (or 0x72 with long_header = (manufacturer, id, version, type)) in mode 5.

    The APL is 2F2F ‖ records, padded with 2F to whole blocks and CBC-encrypted with
    IV = M ‖ ID ‖ VER ‖ TYPE (of the TPL address when long) ‖ ACC×8; `tail` follows unencrypted.
    With key None the telegram is sent in clear (security mode 0).
    """
    dll = address_bytes(manufacturer, meter_id, version, device_type)
    tpl_addr = dll
    ci_hdr = b"\x7a"
    if long_header is not None:
        lm, lid, lver, ltype = long_header
        tpl_addr = address_bytes(str(lm), str(lid), int(str(lver)), int(str(ltype)))
        ci_hdr = b"\x72" + tpl_addr[2:6] + tpl_addr[0:2] + tpl_addr[6:8]
    plain = _pad_2f(b"\x2f\x2f" + apl(records)) if key is not None else apl(records)
    if key is not None:
        blocks = len(plain) // 16
        cfg = (5 << 8) | (blocks << 4)
        iv = tpl_addr + bytes([acc & 0xFF]) * 8
        body = aes_cbc_encrypt(key, iv, plain)
    else:
        cfg = 0
        body = plain
    hdr = ci_hdr + bytes([acc & 0xFF, status]) + cfg.to_bytes(2, "little")
    return _frame(0x44, dll, hdr + body + tail)


def oms_mode7(
    *,
    manufacturer: str,
    meter_id: str,
    version: int,
    device_type: int,
    key: bytes,
    records: Sequence[Record],
    mcr: int,
    acc: int = 0,
    status: int = 0,
    cc: int = 0x20,
) -> bytes:
    """ELL I ‖ AFL (MCL 0x25: CMAC-8 + MCR) ‖ CI 0x7A mode 7 with KDF-A, AES-CBC IV 0."""
    dll = address_bytes(manufacturer, meter_id, version, device_type)
    plain = _pad_2f(b"\x2f\x2f" + apl(records))
    blocks = len(plain) // 16
    cfg = (7 << 8) | (blocks << 4)
    mcr_bytes = mcr.to_bytes(4, "little")
    kenc = kdf_a(key, 0x00, mcr_bytes, dll[2:6])
    kmac = kdf_a(key, 0x01, mcr_bytes, dll[2:6])
    tpl = b"\x7a" + bytes([acc & 0xFF, status]) + cfg.to_bytes(2, "little") + b"\x10"
    tpl += aes_cbc_encrypt(kenc, ZERO_IV, plain)
    mcl = 0x25
    mac = cmac(kmac, bytes([mcl]) + mcr_bytes + tpl)[:8]
    afl_fields = (0x2C00).to_bytes(2, "little") + bytes([mcl]) + mcr_bytes + mac
    afl = bytes([0x90, len(afl_fields)]) + afl_fields
    ell = bytes([0x8C, cc, acc & 0xFF])
    return _frame(0x44, dll, ell + afl + tpl)
