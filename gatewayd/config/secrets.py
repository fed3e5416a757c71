"""Secrets held in types whose repr and str never show them (config values, crash dumps, logs).

A `Key` is a meter key: 16 bytes for AES-128 (every current security mode) or 8 bytes for DES
(the deprecated TPL mode 2); its `cipher` says which, and the decoder refuses a key of the
other kind per telegram. A `Secret` is any other string (an MQTT password). Every value
created here is also registered, and `scrub_secrets()` masks any registered one in a text: the
log filter runs every formatted line through it (gatewayd.daemon.logs). Its cost does not grow
with the number of keys (a site may configure 10,000 meters): key hex is found by looking up
each 32-digit (16 for DES keys) window of the text's hex runs in a set; only passwords are
searched one by one.
"""

from __future__ import annotations

import re
import threading
from typing import Final, NoReturn

MASK: Final = "<redacted>"
KEY_DIGITS: Final = 32
DES_KEY_DIGITS: Final = 16
AES_KEY_BYTES: Final = 16
DES_KEY_BYTES: Final = 8
_HEX_RUN: Final = re.compile(r"[0-9A-Fa-f]{16,}")

_lock = threading.Lock()
_key_hex: set[str] = set()  # lower case; read without the lock (set lookups are atomic)
_des_key_hex: set[str] = set()  # the same for 8-byte DES keys (16 digits)
_texts: tuple[str, ...] = ()  # passwords and other secret strings, replaced whole on change


def _register_key(hex_lower: str) -> None:
    with _lock:
        (_key_hex if len(hex_lower) == KEY_DIGITS else _des_key_hex).add(hex_lower)


def _register_text(text: str) -> None:
    global _texts  # noqa: PLW0603 (a process-wide registry, like the keys set above)
    if len(text) < 6:
        return
    with _lock:
        if text not in _texts:
            _texts = (*_texts, text)


def known_secret_texts() -> frozenset[str]:
    """Every secret's text forms seen so far (key hex in both cases, passwords)."""
    with _lock:
        keys = _key_hex | _des_key_hex
        return frozenset({*keys, *(k.upper() for k in keys), *_texts})


def _mask_key_windows(match: re.Match[str]) -> str:
    run = match.group()
    lower = run.lower()
    masked = [False] * len(run)
    for digits, known in ((KEY_DIGITS, _key_hex), (DES_KEY_DIGITS, _des_key_hex)):
        if not known:
            continue
        for start in range(len(run) - digits + 1):
            if lower[start : start + digits] in known:
                masked[start : start + digits] = [True] * digits
    if not any(masked):
        return run
    out: list[str] = []
    for i, char in enumerate(run):
        if not masked[i]:
            out.append(char)
        elif i == 0 or not masked[i - 1]:
            out.append(MASK)
    return "".join(out)


def scrub_secrets(text: str) -> str:
    """`text` with every registered key (hex, either case) and secret string masked."""
    if (_key_hex and len(text) >= KEY_DIGITS) or (_des_key_hex and len(text) >= DES_KEY_DIGITS):
        text = _HEX_RUN.sub(_mask_key_windows, text)
    for secret in _texts:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class _Masked:
    """What both secret types share: a repr, str and format that mask, no mutation, no pickle."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({MASK})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> NoReturn:
        raise TypeError("secrets are not pickled")


class Key(_Masked):
    """A meter key: AES-128 (16 bytes) or DES (8 bytes, TPL mode 2 only). `bytes(key)` /
    `key.raw` give the bytes, `cipher` the algorithm; repr, str and format mask the bytes."""

    __slots__ = ("_raw",)
    _raw: bytes

    def __init__(self, raw: bytes) -> None:
        if len(raw) not in (AES_KEY_BYTES, DES_KEY_BYTES):
            raise ValueError("a key is 16 bytes (AES-128) or 8 bytes (DES)")
        object.__setattr__(self, "_raw", bytes(raw))
        _register_key(raw.hex())

    @property
    def cipher(self) -> str:
        """ "AES-128" or "DES": the only security modes this key can open."""
        return "AES-128" if len(self._raw) == AES_KEY_BYTES else "DES"

    @classmethod
    def from_hex(cls, text: str) -> Key:
        return cls(bytes.fromhex(text))

    @property
    def raw(self) -> bytes:
        return self._raw

    def __bytes__(self) -> bytes:
        return self._raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Key) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)


class Secret(_Masked):
    """A secret string (e.g. an MQTT password). `.value` gives it; repr and str mask it."""

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        object.__setattr__(self, "_value", value)
        _register_text(value)

    @property
    def value(self) -> str:
        return self._value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
