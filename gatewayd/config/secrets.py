"""Secrets held in types whose repr and str never show them (config values, crash dumps, logs).

A `Key` is a 16-byte AES key; a `Secret` is any other string (an MQTT password). Every value
created here is also registered with `known_secret_texts()`, which the log filter uses to scrub
any formatted log line that would still contain one (gatewayd.daemon.logs).
"""

from __future__ import annotations

import threading
from typing import Final, NoReturn

_lock = threading.Lock()
_registered: set[str] = set()

MASK: Final = "<redacted>"


def _register(*texts: str) -> None:
    with _lock:
        _registered.update(t for t in texts if len(t) >= 6)


def known_secret_texts() -> frozenset[str]:
    """Every secret's text forms seen so far (key hex in both cases, passwords)."""
    with _lock:
        return frozenset(_registered)


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
    """An AES-128 key. `bytes(key)` / `key.raw` give the bytes; repr, str and format mask them."""

    __slots__ = ("_raw",)
    _raw: bytes

    def __init__(self, raw: bytes) -> None:
        if len(raw) != 16:
            raise ValueError("an AES-128 key is 16 bytes")
        object.__setattr__(self, "_raw", bytes(raw))
        hx = raw.hex()
        _register(hx, hx.upper())

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
        _register(value)

    @property
    def value(self) -> str:
        return self._value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
