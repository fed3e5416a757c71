"""Tokens for the TPL status byte (EN 13757-7), as wmbusmeters merges them into "status"."""

from __future__ import annotations

# bits 0-1: application state
_APPLICATION = ("", "BUSY", "ERROR", "ALARM")
_FLAGS = ((0x04, "POWER_LOW"), (0x08, "PERMANENT_ERROR"), (0x10, "TEMPORARY_ERROR"))
_MFCT_MASK = 0xE0  # manufacturer-specific bits, shown as UNKNOWN_<hex>
_STANDARD_MASK = 0x1F


def tpl_status_tokens(
    status: int | None, mfct_names: tuple[tuple[int, str], ...] = ()
) -> list[str]:
    """mfct_names: what a vendor's manufacturer-specific bits (0xE0) mean; bits it does not
    name are shown as UNKNOWN_<hex>. A vendor that names any of the standard bits (0x1F) gives
    the whole byte its own meaning: then only its names are used."""
    if not status:
        return []
    if any(bit & _STANDARD_MASK for bit, _ in mfct_names):
        return [name for bit, name in mfct_names if status & bit]
    out = [name for bit, name in _FLAGS if status & bit]
    app = _APPLICATION[status & 0x03]
    if app:
        out.append(app)
    rest = status & _MFCT_MASK
    for bit, name in mfct_names:
        if rest & bit:
            out.append(name)
            rest &= ~bit
    if rest:
        out.append(f"UNKNOWN_{rest:X}")
    return out
