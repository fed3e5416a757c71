"""Authentication and Fragmentation Layer (CI 0x90)."""

from __future__ import annotations

from dataclasses import dataclass

from gatewayd.wmbus.errors import FrameError, UnsupportedError

FCL_MORE_FRAGMENTS = 0x4000
FCL_MCL = 0x2000
FCL_ML = 0x1000
FCL_MCR = 0x0800
FCL_MAC = 0x0400
FCL_KI = 0x0200

# MCL bits 0-3: authentication type -> MAC length
MAC_LENGTHS = {3: 2, 4: 4, 5: 8, 6: 12, 7: 16, 8: 12}


@dataclass(frozen=True, slots=True)
class AflHeader:
    fcl: int
    mcl: int | None
    ki: bytes | None
    mcr: bytes | None  # 4 bytes as on air
    mac: bytes | None
    ml: bytes | None  # 2 bytes as on air


def parse_afl(frame: bytes, pos: int, meter_id: str) -> tuple[AflHeader, int]:
    """Parse the AFL whose CI is at frame[pos]; return it and the position of the next CI."""
    if len(frame) < pos + 4:
        raise FrameError("AFL header truncated", meter_id)
    afll = frame[pos + 1]
    end = pos + 2 + afll
    if len(frame) <= end:
        raise FrameError(f"AFL length {afll} runs past the end of the frame", meter_id)
    if afll < 2:
        raise FrameError(f"AFL length {afll} leaves no room for the FCL", meter_id)
    fcl = frame[pos + 2] | (frame[pos + 3] << 8)
    if fcl & FCL_MORE_FRAGMENTS or fcl & 0xFF:
        raise UnsupportedError(f"fragmented AFL message (FCL 0x{fcl:04X})", meter_id)
    p = pos + 4
    mcl: int | None = None
    ki = mcr = mac = ml = None

    def field(name: str, n: int) -> bytes:
        nonlocal p
        if p + n > end:
            raise FrameError(f"AFL {name} runs past AFLL {afll}", meter_id)
        p += n
        return bytes(frame[p - n : p])

    if fcl & FCL_MCL:
        mcl = field("MCL", 1)[0]
    if fcl & FCL_KI:
        ki = field("KI", 2)
    if fcl & FCL_MCR:
        mcr = field("MCR", 4)
    if fcl & FCL_MAC:
        if mcl is None or (mcl & 0x0F) not in MAC_LENGTHS:
            raise UnsupportedError("AFL MAC present with an unknown authentication type", meter_id)
        mac = field("MAC", MAC_LENGTHS[mcl & 0x0F])
    if fcl & FCL_ML:
        ml = field("ML", 2)
    return AflHeader(fcl, mcl, ki, mcr, mac, ml), end
