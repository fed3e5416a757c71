"""Typed reading of TOML tables with errors that say file, dotted key, expected and found.

A Table given an `errors` list collects: a wrong value is noted and its default used, so one
pass over a config names every mistake (ConfigErrors), not only the first.

Secrets are never shown: a secret field (a key, a password) is described by its type or shape
only ("an integer", "30 characters"); any other value that looks like a key (a run of 16 or more
hex digits, spaces and colons ignored) is described by its length; and as a backstop every
message has such runs replaced before it is built.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar, cast

from gatewayd.config import toml_cache
from gatewayd.config.secrets import MASK, Key
from gatewayd.errors import ConfigurationError

S = TypeVar("S", bound=str)
E = TypeVar("E", bound=enum.Enum)
_HEX = re.compile(r"[0-9A-Fa-f]*")
_HEX_RUN = re.compile(r"[0-9A-Fa-f]{16,}")
_SEPARATORS = re.compile(r"[\s:.-]")


def looks_like_key(text: str) -> bool:
    """True for text holding 16+ hex digits in a row (separators ignored): maybe a key."""
    return _HEX_RUN.search(_SEPARATORS.sub("", text)) is not None


def scrub(text: str) -> str:
    """`text` with every run of 16+ hex digits replaced by the mask."""
    return _HEX_RUN.sub(MASK, text)


def shown(text: str) -> str:
    """`text` itself, or a stand-in when it looks like a key (for names quoted in errors)."""
    return f"{MASK} (it looks like a key)" if looks_like_key(text) else text


class ConfigError(ConfigurationError):
    """A configuration problem: `<file>: <dotted.key>: expected <what>, found <what>`."""

    def __init__(self, file: str, key: str, expected: str, found: str) -> None:
        self.file = file
        self.key = scrub(key)
        self.expected = scrub(expected)
        self.found = scrub(found)
        key, expected, found = self.key, self.expected, self.found
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: expected {expected}, found {found}")


class ConfigErrors(ConfigError):
    """Several configuration problems found in one pass; str() is one ConfigError per line."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        first = errors[0]
        super().__init__(first.file, first.key, first.expected, first.found)
        self.errors = tuple(errors)
        self.args = ("\n".join(str(e) for e in self.errors),)


def every_error(exc: ConfigError) -> tuple[ConfigError, ...]:
    """The single errors inside exc (itself when it is one)."""
    return exc.errors if isinstance(exc, ConfigErrors) else (exc,)


def raise_all(errors: Sequence[ConfigError]) -> None:
    """Raise the errors found (one ConfigError, or ConfigErrors for several), if any."""
    unique = list({str(e): e for e in errors}.values())
    if len(unique) == 1:
        raise unique[0]
    if unique:
        raise ConfigErrors(unique)


def load_toml(path: Path, *, cache: bool = True) -> dict[str, Any]:
    """A TOML file's document; under systemd (CacheDirectory=) an unchanged file's document
    comes from the cache of parsed files (config/toml_cache.py) unless `cache` is False."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(path), "", "a config file", "no such file") from None
    except PermissionError:
        raise ConfigError(str(path), "", "a readable file", "permission denied") from None
    except IsADirectoryError:
        raise ConfigError(str(path), "", "a file", "a directory") from None
    cache_dir = toml_cache.directory() if cache else None
    if cache_dir is not None:
        doc = toml_cache.load(cache_dir, path, data)
        if doc is not None:
            return doc
    import tomli  # noqa: PLC0415 (not loaded when the cache has the document)

    try:
        doc = tomli.loads(data.decode())  # tomllib's parser, compiled where a wheel is
    except tomli.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", "valid TOML", f"a syntax error: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "", "UTF-8 text", "undecodable bytes") from None
    if cache_dir is not None:
        toml_cache.store(cache_dir, path, data, doc)
    return doc


_KINDS = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}


def describe_kind(value: object) -> str:
    """Only the type of a value (for fields that may hold secrets)."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return _KINDS.get(type(value), type(value).__name__)


def describe(value: object) -> str:
    """How a wrong value is shown in an error (short; one that looks like a key by length only)."""
    if isinstance(value, dict | list):
        return describe_kind(value)
    if isinstance(value, str) and looks_like_key(value):
        return f"a string of {len(value)} characters that looks like a key"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{describe_kind(value)} {text}"


class Table:
    """One TOML table, with its file name and dotted prefix for errors.

    With `errors` (a list shared with the tables read from it), a wrong value of a key that has
    a default is noted there and the default returned, so that one pass finds every mistake;
    a required key that is missing or wrong still raises. Without, every error raises.
    """

    def __init__(
        self,
        data: Mapping[str, Any],
        file: str,
        prefix: str,
        errors: list[ConfigError] | None = None,
    ) -> None:
        self._data = data
        self.file = file
        self.prefix = prefix
        self.errors = errors

    def report(self, error: ConfigError) -> None:
        """Note `error` when collecting, else raise it."""
        if self.errors is None:
            raise error
        self.errors.extend(every_error(error))

    def dotted(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def error(self, key: str, expected: str, found: str) -> ConfigError:
        return ConfigError(self.file, self.dotted(key), expected, found)

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def names(self) -> Iterator[str]:
        return iter(self._data)

    def reject_unknown(self, allowed: Iterable[str]) -> None:
        """Every key that is not in `allowed` is an error (all of them, not just the first)."""
        known = allowed if isinstance(allowed, frozenset) else frozenset(allowed)
        if known.issuperset(self._data):  # the usual case, once per [[meters]] table
            return
        unknown = [
            self.error(shown(k), "one of " + ", ".join(sorted(known)), "an unknown key")
            for k in self._data
            if k not in known
        ]
        if self.errors is None:
            raise_all(unknown)
        else:
            self.errors.extend(unknown)

    def _get(self, key: str, types: tuple[type, ...], expected: str, default: Any) -> Any:
        if key not in self._data:
            if default is None:
                raise self.error(key, expected, "nothing (the key is missing)")
            return default
        v = self._data[key]
        if not isinstance(v, types) or (bool not in types and isinstance(v, bool)):
            raise self.error(key, expected, describe(v))
        return v

    def table(self, key: str) -> Table:
        try:
            v = self._get(key, (dict,), "a table", {})
        except ConfigError as exc:
            self.report(exc)
            v = {}
        return Table(v, self.file, self.dotted(key), self.errors)

    def array_of_tables(self, key: str) -> list[Table]:
        items = enumerate(self.array(key))
        return [t for i, item in items if (t := self.item(key, i, item)) is not None]

    def array(self, key: str) -> list[Any]:
        """The raw items of an array of tables (none when it is missing or not an array):
        for a caller with a fast path of its own, which takes `item()` for the rest."""
        try:
            v: list[Any] = self._get(key, (list,), "an array of tables ([[...]])", [])
        except ConfigError as exc:
            self.report(exc)
            return []
        return v

    def item(self, key: str, i: int, item: object) -> Table | None:
        """Item `i` of the array of tables `key` as a Table (None, noted, when not a table)."""
        if not isinstance(item, dict):
            self.report(self.error(f"{key}[{i}]", "a table", describe(item)))
            return None
        return Table(item, self.file, f"{self.dotted(key)}[{i}]", self.errors)

    def strings(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        """A list of non-empty strings."""
        try:
            v = self._get(key, (list,), "a list of strings", list(default))
            if not all(isinstance(x, str) and x for x in v):
                raise self.error(key, "a list of non-empty strings", "a list with other items")
        except ConfigError as exc:
            self.report(exc)
            return default
        return tuple(v)

    def string(self, key: str, default: str | None) -> str:
        try:
            v: str = self._get(key, (str,), "a string", default)
            if not v:
                raise self.error(key, "a non-empty string", "an empty string")
        except ConfigError as exc:
            if default is None:
                raise
            self.report(exc)
            return default
        return v

    def optional_string(self, key: str) -> str | None:
        try:
            return self.string(key, None) if key in self._data else None
        except ConfigError as exc:
            self.report(exc)
            return None

    def pattern(self, key: str, rx: re.Pattern[str], expected: str, default: str | None) -> str:
        try:
            v: str = self._get(key, (str,), f"a string of {expected}", default)
            if not rx.fullmatch(v):
                raise self.error(key, expected, describe(v))
        except ConfigError as exc:
            if default is None:
                raise
            self.report(exc)
            return default
        return v

    def choice(
        self,
        key: str,
        choices: Iterable[S],
        default: S,
        aliases: Mapping[str, S] | None = None,
    ) -> S:
        """One of `choices` (or an alias of one, returned as the canonical name)."""
        options: tuple[S, ...] = tuple(choices)
        if key not in self._data:
            return default
        for option in options:  # the common case, before any message text is built
            if self._data[key] == option:
                return option
        expected = "one of " + ", ".join(repr(c) for c in options)
        try:
            v: str = self._get(key, (str,), expected, default)
        except ConfigError as exc:
            self.report(exc)
            return default
        canonical = (aliases or {}).get(v.lower())
        if canonical is not None:
            return canonical
        for option in options:
            if v == option:
                return option
        self.report(self.error(key, expected, describe(v) if looks_like_key(v) else repr(v)))
        return default

    def member(self, key: str, enum_type: type[E], default: E) -> E:
        """A member of a string-valued enum, named by its value."""
        by_value = {str(m.value): m for m in enum_type}
        return by_value[self.choice(key, by_value, str(default.value))]

    def secret_string(self, key: str) -> str | None:
        """An optional secret string (a password): errors give its type, never its value."""
        if key not in self._data:
            return None
        v = self._data[key]
        if not isinstance(v, str):
            self.report(self.error(key, "a string", describe_kind(v)))
            return None
        if not v:
            self.report(self.error(key, "a non-empty string", "an empty string"))
            return None
        return v

    def scalar(self, key: str) -> str | int | float | bool:
        """A string, number or boolean (a static reading field)."""
        v = self._get(key, (str, int, float, bool), "a string, number or boolean", None)
        if isinstance(v, float) and not math.isfinite(v):
            raise self.error(key, "a finite number", describe(v))
        return cast(str | int | float | bool, v)

    def boolean(self, key: str, default: bool) -> bool:
        try:
            return bool(self._get(key, (bool,), "true or false", default))
        except ConfigError as exc:
            self.report(exc)
            return default

    def integer(
        self, key: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        try:
            v: int = self._get(key, (int,), "an integer", default)
            self._range(key, v, minimum, maximum)
        except ConfigError as exc:
            self.report(exc)
            return default
        return v

    def number(self, key: str, default: float, *, minimum: float | None = None) -> float:
        try:
            v = float(self._get(key, (int, float), "a number", default))
            self._range(key, v, minimum, None)
        except ConfigError as exc:
            self.report(exc)
            return default
        return v

    def _range(self, key: str, v: float, lo: float | None, hi: float | None) -> None:
        if lo is not None and v < lo:
            raise self.error(key, f"a value >= {lo:g}", f"{v:g}")
        if hi is not None and v > hi:
            raise self.error(key, f"a value <= {hi:g}", f"{v:g}")

    def path(self, key: str, base: Path, default: Path) -> Path:
        if key not in self._data:
            return default
        return base / Path(self.string(key, str(default)))

    def optional_path(self, key: str, base: Path) -> Path | None:
        text = self.optional_string(key)
        return base / Path(text) if text is not None else None

    def key(self, key: str) -> Key:
        """A meter key: 32 hex digits (AES-128) or 16 (DES). Errors describe its shape, never
        its digits."""
        v = self._data.get(key)
        if not isinstance(v, str):
            found = "nothing (the key is missing)" if v is None else describe_kind(v)
            raise self.error(key, KEY_EXPECTED, found)
        try:
            return parse_hex_key(v)
        except ValueError as exc:
            raise self.error(key, KEY_EXPECTED, str(exc)) from None


KEY_EXPECTED: Final = "32 hex digits (AES-128) or 16 (DES)"


def parse_hex_key(text: str) -> Key:
    """32 hex digits (AES-128) or 16 (DES), spaces allowed -> Key. ValueError says what is
    wrong, never the digits."""
    compact = text.replace(" ", "")
    if len(compact) not in (32, 16):
        raise ValueError(f"{len(compact)} characters")
    if not _HEX.fullmatch(compact):
        pos = next(i for i, c in enumerate(compact) if c not in "0123456789abcdefABCDEF")
        raise ValueError(f"a non-hex character at position {pos + 1}")
    return Key.from_hex(compact)
