"""A cache of parsed TOML files, so a start with an unchanged config does not parse it again.

Parsing a config of 10,000 [[meters]] takes tens of milliseconds of CPU: on a Pi that is a
noticeable part of every start. Under systemd (`CacheDirectory=gatewayd`, so
$CACHE_DIRECTORY is set) the parsed document is kept in `$CACHE_DIRECTORY/toml-*.bin`, one
file per TOML file, and used again while the file's bytes are the same.

No secret is written there, nor any text of the file: every string of the document is stored
as the place (offset and length) of an equal run of characters in the file's own text, and
is cut out of that text again when the cache is used. A cache entry is used only when it
belongs to exactly these bytes (a BLAKE2b digest of them, of the parser's version and of this
format), when its own checksum holds and when it unmarshals into a table; anything else (no
directory, an unreadable, damaged or stale entry, a document holding dates) means the file is
parsed as if there were no cache, and a new entry is written when the directory allows.
Entries are written atomically, mode 0600, and never fsync'd: a cache lost to a power cut
costs one parse.
"""

from __future__ import annotations

import importlib.util
import logging
import marshal
import os
import sys
from itertools import chain, zip_longest
from pathlib import Path
from typing import Any, Final

from gatewayd.fsutil import write_atomically

try:  # hashlib's BLAKE2b, without loading hashlib and OpenSSL's bindings before READY=1
    from _blake2 import blake2b
except ImportError:  # pragma: no cover (CPython has it)
    from hashlib import blake2b

log = logging.getLogger("gatewayd.config")

FORMAT: Final = 1
MAGIC: Final = b"gatewayd-toml\x00"
DIGEST: Final = 32  # bytes of BLAKE2b in the header: the source's, then the payload's
_MAX_ENTRY: Final = 64 << 20  # larger than any config; a bigger file is not an entry


def _parser_identity() -> str:
    """The parser's file (size and time): another tomli release parses anew. Found without
    importing it, so a start that takes its config from the cache never loads the parser."""
    spec = importlib.util.find_spec("tomli")
    origin = spec.origin if spec is not None else None
    try:
        st = os.stat(origin) if origin else None
    except OSError:
        st = None
    return f"{origin}:{st.st_size}:{st.st_mtime_ns}" if st is not None else "tomli:?"


_SALT: Final = f"{FORMAT}:{sys.implementation.cache_tag}:{marshal.version}:{_parser_identity()}"


class _NoEntry(Exception):
    """The document cannot be cached (a value of a kind the cache does not hold)."""


def directory() -> Path | None:
    """The cache directory systemd gave the service (the first of $CACHE_DIRECTORY), or None."""
    value = os.environ.get("CACHE_DIRECTORY", "").split(":")[0]
    return Path(value) if value else None


def entry_path(cache_dir: Path, source: Path) -> Path:
    """Where the entry for the TOML file at `source` lives (one per file path)."""
    name = blake2b(os.fsencode(os.path.abspath(source)), digest_size=10).hexdigest()
    return cache_dir / f"toml-{name}.bin"


def source_digest(data: bytes) -> bytes:
    """What an entry is for: these bytes, read by this parser, in this format."""
    return blake2b(_SALT.encode() + b"\x00" + data, digest_size=DIGEST).digest()


def parser_bytes(data: bytes) -> bytes:
    """The text the parser reads, as UTF-8 (it takes CRLF line ends as LF)."""
    return data.replace(b"\r\n", b"\n")


# ---- reading


def load(cache_dir: Path, source: Path, data: bytes) -> dict[str, Any] | None:
    """The document cached for `source` with content `data`; None when there is no usable
    entry (the caller parses)."""
    path = entry_path(cache_dir, source)
    try:
        with path.open("rb") as fh:
            blob = fh.read(_MAX_ENTRY + 1)
    except OSError:
        return None
    head = len(MAGIC) + 2 * DIGEST
    if len(blob) <= head or len(blob) > _MAX_ENTRY or not blob.startswith(MAGIC):
        return None
    if blob[len(MAGIC) : len(MAGIC) + DIGEST] != source_digest(data):
        return None  # the file changed since (or another parser, or another format)
    body = memoryview(blob)[head:]
    if blake2b(body, digest_size=DIGEST).digest() != blob[len(MAGIC) + DIGEST : head]:
        log.debug("config cache entry %s is damaged; parsing %s", path, source)
        return None
    try:
        doc = _splice(body, parser_bytes(data))
    except Exception:  # a foreign entry: parse instead
        log.debug("config cache entry %s is unreadable; parsing %s", path, source)
        return None
    return doc if type(doc) is dict else None


def _splice(body: memoryview, src: bytes) -> Any:
    """The document: the entry's marshal template with each string's bytes put back from
    the source text, unmarshalled (a few C-level passes, no Python step per value)."""
    tpl, cut_at, starts, ends = marshal.loads(body)
    pieces = map(tpl.__getitem__, map(slice, [0, *cut_at], [*cut_at, len(tpl)]))
    texts = map(src.__getitem__, map(slice, starts, ends))
    joined = b"".join(chain.from_iterable(zip_longest(pieces, texts, fillvalue=b"")))
    return marshal.loads(joined)


# ---- writing


def store(cache_dir: Path, source: Path, data: bytes, doc: dict[str, Any]) -> bool:
    """Write the entry for `doc`, parsed from `data` (the bytes of `source`); False when it
    cannot be cached or written (nothing else happens: the next start parses again)."""
    try:
        body = marshal.dumps(_template(doc, parser_bytes(data)))
    except (_NoEntry, ValueError):
        return False
    blob = b"".join((MAGIC, source_digest(data), blake2b(body, digest_size=DIGEST).digest(), body))
    path = entry_path(cache_dir, source)
    try:
        write_atomically(path, blob, sync=False)  # a lost entry costs one parse
    except OSError as exc:
        log.debug("config cache: cannot write %s: %s", path, exc)
        return False
    return True


def _template(doc: dict[str, Any], src: bytes) -> tuple[bytes, list[int], list[int], list[int]]:
    """(template, cut_at, starts, ends): `doc` marshalled (format 2: no back-references)
    with every string's UTF-8 bytes cut out at `cut_at`; they are src[starts[i]:ends[i]].
    Table names stay in the template when they cannot be secrets. _NoEntry when a string is
    not in the text verbatim (an escape sequence) or a value is of another kind (a date)."""
    strings: list[bytes] = []

    def value(v: object) -> object:
        t = type(v)
        if t is str:
            strings.append(v.encode())  # type: ignore[attr-defined]
            return _placeholder(len(strings) - 1)
        if t is dict:
            return table(v)  # type: ignore[arg-type]
        if t is list:
            return [value(x) for x in v]  # type: ignore[attr-defined]
        if t is int or t is float or t is bool:
            return v
        raise _NoEntry

    def table(d: dict[str, Any]) -> dict[object, object]:
        return {(k if _plain_name(k) else value(k)): value(v) for k, v in d.items()}

    marshalled = marshal.dumps(table(doc), 2)
    parts: list[bytes] = []
    cut_at: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = size = cursor = 0
    for i, text in enumerate(strings):
        mark = marshal.dumps(_placeholder(i), 2)  # b"u" + length + bytes
        at = marshalled.find(mark, pos)
        found = src.find(text, cursor)  # values mostly come in file order
        if found < 0:
            found = src.find(text)
        if at < 0 or found < 0:
            raise _NoEntry
        head = marshalled[pos:at] + marshal.dumps(text.decode(), 2)[: -len(text) or None]
        parts.append(head)
        size += len(head)
        cut_at.append(size)
        starts.append(found)
        ends.append(found + len(text))
        cursor = found + len(text)
        pos = at + len(mark)
    parts.append(marshalled[pos:])
    return b"".join(parts), cut_at, starts, ends


def _placeholder(i: int) -> str:
    return f"\x00\x01gatewayd-toml-cache:{i}\x01\x00"


def _plain_name(name: str) -> bool:
    """A table name kept as it is in the entry: short, printable and with no run of 8 hex
    digits (a key, or part of one, is never one of these)."""
    if len(name) > 24 or not name.isprintable():
        return False
    run = 0
    for c in name:
        run = run + 1 if c in "0123456789abcdefABCDEF" else 0
        if run >= 8:
            return False
    return True
