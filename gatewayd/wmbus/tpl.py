"""Transport layer (EN 13757-7): short/long headers, security modes 5 and 7, the deprecated
mode 2 (DES-CBC, zero IV), and the manufacturer-specific modes 16-31 (Diehl's "real
data"; other vendors' own layouts)."""

from __future__ import annotations

from gatewayd.wmbus import diehl
from gatewayd.wmbus.afl import AflHeader
from gatewayd.wmbus.ci import CI_TABLE
from gatewayd.wmbus.crypto import (
    DES_BLOCK,
    ZERO_IV,
    Ciphers,
    aes128_key,
    aes_cbc_decrypt,
    cmac,
    des_cbc_decrypt,
    kdf_a,
)
from gatewayd.wmbus.errors import FrameError, NoKeyError, UnsupportedError, WrongKeyError
from gatewayd.wmbus.link import Address, bcd_id, manufacturer_code
from gatewayd.wmbus.telegram import TplHeader

SECURITY_MODE_NAMES = {
    0: "none",
    1: "manufacturer specific",
    2: "DES-CBC without IV",
    3: "DES-CBC with IV",
    5: "AES-128-CBC (mode 5)",
    7: "AES-128-CBC with KDF and CMAC (mode 7)",
    8: "AES-128-CTR with CMAC (mode 8)",
    9: "AES-128-GCM (mode 9)",
    10: "AES-128-CCM (mode 10)",
    13: "TLS (mode 13)",
}

VENDOR_MODES = 16  # security modes 16-31: manufacturer-specific
CFG_HOP = 0x0001
CFG_REPEATED = 0x0002


def security_mode(cfg: int) -> int:
    return (cfg >> 8) & 0x1F


def parse_tpl_header(frame: bytes, pos: int, meter_id: str) -> tuple[TplHeader, int]:
    """Parse the TPL header whose CI is frame[pos]; return it and where the APL starts.

    Unknown CIs raise UnsupportedError."""
    ci = frame[pos]
    info = CI_TABLE.get(ci)
    if info is None or info.layer != "tpl":
        raise UnsupportedError(f"CI 0x{ci:02X} is not a transport layer we decode", meter_id)
    p = pos + 1
    long_addr = None
    if info.header == "none":
        return _NO_HEADER[ci], p
    if info.header == "long":
        if len(frame) < p + 8:
            raise FrameError("long TPL header truncated", meter_id)
        m = frame[p + 4] | (frame[p + 5] << 8)
        raw = bytes(frame[p + 4 : p + 6]) + bytes(frame[p : p + 4]) + bytes(frame[p + 6 : p + 8])
        long_addr = Address(manufacturer_code(m), bcd_id(frame[p : p + 4]), frame[p + 6],
                            frame[p + 7], raw)  # fmt: skip
        p += 8
    if len(frame) < p + 4:
        raise FrameError("TPL header truncated", meter_id)
    acc, sts = frame[p], frame[p + 1]
    cfg = frame[p + 2] | (frame[p + 3] << 8)
    p += 4
    mode = security_mode(cfg)
    cfg_ext = None
    if mode == 7:
        if len(frame) <= p:
            raise FrameError("TPL CFG extension truncated", meter_id)
        cfg_ext = frame[p]
        p += 1
    return TplHeader(ci, acc, sts, cfg, mode, long_addr, cfg_ext), p


# A CI without a TPL header has one (immutable) header object per CI.
_NO_HEADER = {
    ci: TplHeader(ci, None, None, None, 0, None)
    for ci, info in CI_TABLE.items()
    if info.layer == "tpl" and info.header == "none"
}


def _diehl_real_data(frame: bytes, hdr: TplHeader, address: Address, body_at: int) -> bool:
    return bool(
        hdr.security_mode & diehl.REAL_DATA_MODE_BIT
        and body_at == diehl.REAL_DATA_AT
        and diehl.is_real_data(frame, address.manufacturer)
    )


def vendor_layout(frame: bytes, hdr: TplHeader, address: Address, body_at: int) -> bool:
    """Security modes 16-31 are the manufacturer's own: the bytes after the TPL header are its
    layout, not records (BMeters RFM-TX1, for one, obfuscates its reading in them). Diehl's
    "real data" frames are the exception this module reads."""
    return hdr.security_mode >= VENDOR_MODES and not _diehl_real_data(frame, hdr, address, body_at)


def encrypted_blocks(cfg: int) -> int:
    return (cfg >> 4) & 0x0F


def decrypt_tpl(
    frame: bytes,
    tpl_span: tuple[int, int],
    hdr: TplHeader,
    address: Address,
    afl: AflHeader | None,
    key: bytes | None,
    meter_id: str,
    ciphers: Ciphers | None = None,
) -> tuple[bytes, bool, str | None]:
    """Decrypt the APL after a TPL header. Returns (APL bytes, was encrypted, warning).

    Mode 5 with fewer bytes than the CFG announces (a short last block, a truncated frame) is
    read as the reference decoder reads it: the whole blocks that arrived are decrypted, the
    rest is kept as it is, and the warning says so.
    """
    tpl_at, body_at = tpl_span
    mode = hdr.security_mode
    body = frame[body_at:]
    if mode == 0:
        return body, False, None
    if _diehl_real_data(frame, hdr, address, body_at):
        clear, obfuscated = diehl.real_data(frame, key, meter_id)
        return clear, obfuscated, None
    if mode == 2:
        return _des_no_iv(body, key, meter_id), True, None
    if mode >= VENDOR_MODES:
        return body, False, None  # the vendor's own layout: its driver reads it (vendor_layout)
    if mode not in (5, 7):
        name = SECURITY_MODE_NAMES.get(mode, f"reserved mode {mode}")
        raise UnsupportedError(f"TPL security {name} is not supported", meter_id)
    assert hdr.cfg is not None and hdr.acc is not None
    n = encrypted_blocks(hdr.cfg)
    length = n * 16 if n else len(body) - len(body) % 16
    warning = None
    if length > len(body):
        if mode != 5 or len(body) < 16:
            raise FrameError(
                f"TPL announces {n} encrypted blocks, only {len(body)} bytes follow", meter_id
            )
        length = len(body) - len(body) % 16
        warning = (
            f"TPL announces {n} encrypted blocks, only {len(body)} bytes follow: "
            f"{length // 16} decrypted, {len(body) - length} kept as they are"
        )
    enc, tail = body[:length], body[length:]
    if mode == 5:
        iv = address.raw[:2] + address.raw[2:8] + bytes([hdr.acc]) * 8
        plain = _cbc_checked(key, iv, enc, meter_id, "mode 5", ciphers or Ciphers())
        return plain + tail, True, warning
    # mode 7: the MAC is checked before anything is decrypted
    if afl is None or afl.mcr is None or afl.mac is None or afl.mcl is None:
        raise FrameError("security mode 7 needs an AFL with MCR and MAC", meter_id)
    if key is None:
        if enc[:2] == b"\x2f\x2f":
            return body, False, None  # stored already decrypted; nothing to verify without a key
        raise NoKeyError("encrypted (TPL mode 7) and no key configured", meter_id)
    if hdr.cfg_ext is not None and (hdr.cfg_ext >> 4) & 0x03 != 1:
        raise UnsupportedError(f"mode 7 key derivation KDFS {(hdr.cfg_ext >> 4) & 3}", meter_id)
    meter_id_bytes = address.raw[2:6]
    key = aes128_key(key, meter_id)
    kmac = kdf_a(key, 0x01, afl.mcr, meter_id_bytes)
    msg = bytes([afl.mcl]) + afl.mcr + (afl.ml or b"") + frame[tpl_at:]
    if cmac(kmac, msg)[: len(afl.mac)] != afl.mac:
        if enc[:2] == b"\x2f\x2f":
            return body, False, None
        raise WrongKeyError("AFL MAC does not verify: wrong key", meter_id)
    kenc = kdf_a(key, 0x00, afl.mcr, meter_id_bytes)
    plain = aes_cbc_decrypt(kenc, ZERO_IV, enc)
    if plain[:2] != b"\x2f\x2f":
        raise WrongKeyError("mode 7 MAC verified but plaintext lacks 2F2F", meter_id)
    return plain + tail, True, None


def _des_no_iv(body: bytes, key: bytes | None, meter_id: str) -> bytes:
    """Mode 2: every whole 8-byte block is DES-CBC with a zero IV (the CFG's block count is
    not used); a trailing part block is kept as it is. The plaintext starts with 2F 2F."""
    length = len(body) - len(body) % DES_BLOCK
    enc, tail = body[:length], body[length:]
    if key is not None and length:
        plain = des_cbc_decrypt(key, bytes(DES_BLOCK), enc, meter_id)
        if plain[:2] == b"\x2f\x2f":
            return plain + tail
    if enc[:2] == b"\x2f\x2f":
        return body  # stored already decrypted
    if key is None:
        raise NoKeyError("encrypted (TPL mode 2, DES) and no key configured", meter_id)
    raise WrongKeyError("TPL mode 2 (DES): decrypted data lacks 2F2F: wrong key", meter_id)


def _cbc_checked(
    key: bytes | None, iv: bytes, enc: bytes, meter_id: str, what: str, ciphers: Ciphers
) -> bytes:
    if key is not None:
        plain = ciphers.cbc_decrypt(aes128_key(key, meter_id), iv, enc)
        if plain[:2] == b"\x2f\x2f":
            return plain
    if enc[:2] == b"\x2f\x2f":
        return enc  # stored already decrypted
    if key is None:
        raise NoKeyError(f"encrypted (TPL {what}) and no key configured", meter_id)
    raise WrongKeyError(f"TPL {what}: decrypted data lacks 2F2F: wrong key", meter_id)
