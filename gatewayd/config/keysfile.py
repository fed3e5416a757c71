"""keys.toml (DESIGN.md §4.5): a `[keys]` table of meter id -> 32 hex digits, nothing else.

`format_keys` writes one; `parse_keys` reads one strictly; `merge` combines; `write_keys_file`
replaces a file atomically with mode 0600, keeping its owner. Messages never show a key.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gatewayd.errors import ConfigurationError

__all__ = [
    "KeysFileError",
    "MergeResult",
    "format_keys",
    "merge",
    "parse_keys",
    "write_keys_file",
]

_METER_ID: Final = re.compile(r"[0-9A-Fa-f]{8}")
_HEX_KEY: Final = re.compile(r"[0-9A-Fa-f]{32}")
HEADER: Final = (
    "# gatewayd keys: meter id -> AES-128 key (32 hex digits). Keep this file mode 0600.\n"
)


class KeysFileError(ConfigurationError):
    """A keys file that cannot be read or written. Never names a key's value."""


@dataclass(frozen=True, slots=True)
class MergeResult:
    keys: dict[str, str]  # id -> HEX, sorted by id
    added: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]


def format_keys(keys: Mapping[str, bytes | str], notes: Mapping[str, str] | None = None) -> str:
    """A `[keys]` table, sorted by id; `notes` adds a trailing comment per id (e.g. the model)."""
    lines = ["[keys]"]
    for meter_id in sorted(keys):
        value = keys[meter_id]
        hexkey = value.hex().upper() if isinstance(value, bytes) else value.upper()
        note = (notes or {}).get(meter_id, "")
        comment = f"  # {_one_line(note)}" if note else ""
        lines.append(f'{meter_id} = "{hexkey}"{comment}')
    return "\n".join(lines) + "\n"


def parse_keys(text: str, source: str) -> dict[str, str]:
    """id -> HEX from a keys file's text; anything but a `[keys]` table of ids is an error."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KeysFileError(f"{source}: not valid TOML ({exc})") from None
    extra = sorted(set(data) - {"keys"})
    if extra:
        raise KeysFileError(f"{source}: only a [keys] table is allowed, found {', '.join(extra)}")
    table = data.get("keys", {})
    if not isinstance(table, dict):
        raise KeysFileError(f"{source}: keys must be a table")
    out: dict[str, str] = {}
    for meter_id, value in table.items():
        if not _METER_ID.fullmatch(meter_id):
            raise KeysFileError(f"{source}: keys.{meter_id}: a meter id is 8 hex digits")
        if not isinstance(value, str) or not _HEX_KEY.fullmatch(value):
            raise KeysFileError(f"{source}: keys.{meter_id}: expected 32 hex digits")
        out[meter_id.lower()] = value.upper()
    return out


def merge(existing: Mapping[str, str], new: Mapping[str, bytes]) -> MergeResult:
    """Existing entries plus new ones; a new key for an existing id replaces the old one."""
    keys = dict(existing)
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    for meter_id in sorted(new):
        hexkey = new[meter_id].hex().upper()
        old = keys.get(meter_id)
        (added if old is None else unchanged if old == hexkey else updated).append(meter_id)
        keys[meter_id] = hexkey
    return MergeResult(dict(sorted(keys.items())), tuple(added), tuple(updated), tuple(unchanged))


def write_keys_file(path: Path, text: str) -> None:
    """Replace `path` atomically with mode 0600, keeping the old file's owner and group."""
    owner: tuple[int, int] | None = None
    with contextlib.suppress(FileNotFoundError):
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise KeysFileError(f"{path}: not a regular file")
        owner = (st.st_uid, st.st_gid)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o600)
            if owner is not None and os.geteuid() == 0:
                os.fchown(fh.fileno(), *owner)
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _one_line(text: str) -> str:
    return " ".join(text.split())
