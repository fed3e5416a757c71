"""The decoder's output: one telegram, every layer parsed, records decoded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gatewayd.wmbus.link import Address, LinkHeader
from gatewayd.wmbus.records import Record

if TYPE_CHECKING:
    from gatewayd.wmbus.headers import Headers


@dataclass(frozen=True, slots=True)
class EllHeader:
    ci: int
    cc: int
    acc: int
    session: int | None  # SN, 32-bit; None for ELL I / III
    payload_crc: int | None


@dataclass(frozen=True, slots=True)
class TplHeader:
    ci: int
    acc: int | None
    status: int | None
    cfg: int | None
    security_mode: int
    long_address: Address | None  # from a long (0x72-style) header
    cfg_ext: int | None = None  # the CFG extension byte (security mode 7)


@dataclass(frozen=True, slots=True)
class Telegram:
    """A decoded telegram.

    address: the meter's identity: the long TPL header's address when present, else the DLL's.
    apl: the decrypted application layer (records area, CI excluded; compact frames rebuilt
    to the equivalent full APL). records: every data record. manufacturer_data: the bytes after
    DIF 0x0F/0x1F. encrypted: the telegram was encrypted on air. format_signature: the
    Kamstrup/OMS compact-format signature of the record headers (CRC over DIF/VIF bytes).
    headers: the DLL/ELL/AFL/TPL headers as walked, with their byte spans in `frame`.
    warnings: what was decoded only in part (records before a malformed tail are kept, as
    real meters send trailing garbage; the rest is reported here, never silently dropped).
    mfct_key: for a manufacturer-CI frame, the meter's key (a vendor that encrypts its own
    layout, e.g. Apator NA-1, needs it in its driver); never printed.
    """

    frame: bytes
    link: LinkHeader
    address: Address
    ell: EllHeader | None
    tpl: TplHeader | None
    ci: int
    encrypted: bool
    apl: bytes
    records: tuple[Record, ...]
    manufacturer_data: bytes | None
    compact: bool
    format_signature: int | None
    warnings: tuple[str, ...] = ()  # e.g. records after a truncated one could not be read
    headers: Headers | None = None  # every header with its byte span in `frame`
    mfct_key: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.address.id
