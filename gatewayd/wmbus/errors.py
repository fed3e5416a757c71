"""The decoder's exceptions: the TelegramError branch of gatewayd/errors.py.

Nothing else may escape the decoder for any input bytes.

TelegramError               a telegram could not be decoded; .meter_id names the meter if known
├── FrameError              malformed bytes: bad length, bad CRC, truncated header/record
├── UnsupportedError        a valid frame we do not decode (CI, security mode, fragmentation)
│   └── UnreadDataError     its data is in a layout no driver reads: no record, no value
├── NoKeyError              encrypted, and no key is configured for this meter
├── WrongKeyError           encrypted, and the configured key does not verify (CRC/2F2F/MAC)
│   └── KeyKindError        the configured key is of a kind the meter's encryption cannot use
└── FormatUnknownError      compact frame whose format signature is not known yet
"""

from __future__ import annotations

from gatewayd.errors import TelegramError

__all__ = [
    "FormatUnknownError",
    "FrameError",
    "KeyKindError",
    "NoKeyError",
    "TelegramError",
    "UnreadDataError",
    "UnsupportedError",
    "WrongKeyError",
]


class FrameError(TelegramError):
    kind = "frame"


class UnsupportedError(TelegramError):
    kind = "unsupported"


class UnreadDataError(UnsupportedError):
    """A valid telegram whose data no driver read: a manufacturer layout (manufacturer CI,
    vendor security mode, data after DIF 0F) that the meter's driver does not know. Raised by
    the meters layer rather than returning a reading with nothing in it."""

    kind = "unread_data"


class NoKeyError(TelegramError):
    kind = "no_key"


class WrongKeyError(TelegramError):
    kind = "wrong_key"


class KeyKindError(WrongKeyError):
    """The configured key cannot be the meter's: a DES key (8 bytes) for an AES-128 meter, an
    AES key for a DES one, or a length no cipher of the meter uses. Nothing is decoded with it
    (no partial reading); counted and logged as a wrong key, the message says which kind the
    meter needs."""


class FormatUnknownError(TelegramError):
    kind = "format_unknown"
