"""keys.toml: a `[keys]` table of name (a meter id, or a `key_ref`) -> 32 hex digits (an
AES-128 key) or 16 (a DES key), nothing else.

The one keys parser: `parse_keys` (parsed TOML -> name -> `Key`), used by the daemon's config
(keys_file, the systemd credential), `gatewayd keys --merge`, and `decode`/`listen --keys`.
`read_keys_file` adds the permission checks a daemon's keys file must pass. `format_keys`
writes one; `merge` combines; `write_keys_file` replaces a file atomically with mode 0600,
keeping its owner. Errors name the file and the entry, never a key's digits.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, NamedTuple

from gatewayd.config.reader import ConfigError, Table, load_toml, raise_all
from gatewayd.config.secrets import Key
from gatewayd.errors import ConfigurationError
from gatewayd.fsutil import write_atomically

__all__ = [
    "KeysFileError",
    "MergeResult",
    "format_keys",
    "key_table",
    "merge",
    "parse_keys",
    "read_credential",
    "read_keys",
    "read_keys_file",
    "write_keys_file",
]

HEADER: Final = (
    "# gatewayd keys: meter id -> AES-128 key (32 hex digits) or DES key (16).\n"
    "# Keep this file mode 0600.\n"
)


class KeysFileError(ConfigurationError):
    """A keys file that cannot be written. Never names a key's value."""


class MergeResult(NamedTuple):  # not a dataclass: defined ~10x faster, at each start
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


def parse_keys(
    data: Mapping[str, Any],
    source: str,
    errors: list[ConfigError] | None = None,
    bad: set[str] | None = None,
) -> dict[str, Key]:
    """A keys file's content -> name (lower case) -> Key; anything but `[keys]` is an error.

    Every wrong entry is found, not just the first: they are added to `errors` (the good
    entries are returned, the wrong entries' names added to `bad`), or, without `errors`,
    raised together."""
    found: list[ConfigError] = [] if errors is None else errors
    root = Table(data, source, "", found)
    for name in root.names():
        if name != "keys":
            root.report(root.error(name, "only a [keys] table in a keys file", "an unknown key"))
    keys = key_table(root.table("keys"), bad)
    if errors is None:
        raise_all(found)
    return keys


def key_table(table: Table, bad: set[str] | None = None) -> dict[str, Key]:
    """Every entry of a table as name (lower case) -> Key (a JSON map of id -> hex, too).

    A wrong entry is noted on a collecting table (its name added to `bad`); without, all
    wrong entries are raised together."""
    keys: dict[str, Key] = {}
    wrong: list[ConfigError] = []
    for name in table.names():
        try:
            keys[name.lower()] = table.key(name)
        except ConfigError as exc:
            wrong.append(exc)
            if bad is not None:
                bad.add(name.lower())
    if table.errors is None:
        raise_all(wrong)
    else:
        table.errors.extend(wrong)
    return keys


def read_keys(
    path: Path, errors: list[ConfigError] | None = None, bad: set[str] | None = None
) -> dict[str, Key]:
    """A keys file read and parsed (no permission checks: for the commands' --keys)."""
    return parse_keys(load_toml(path), str(path), errors, bad)


def read_keys_file(
    path: Path,
    config: Table,
    service_uid: int | None,
    option: str = "keys_file",
    errors: list[ConfigError] | None = None,
    bad: set[str] | None = None,
) -> dict[str, Key]:
    """The daemon's `keys_file`: a regular file, mode 0600, owned by root or the service user.

    Errors about the file itself are raised, at `option` in `config` (the config file); wrong
    entries as parse_keys says.
    """
    try:
        st = path.stat()
    except OSError as exc:
        raise config.error(option, "a readable keys file", f"{path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise config.error(option, "a regular file", f"{path} is not one")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise config.error(
            option, "mode 0600 (no group or other permissions)", f"{path} has mode {mode:04o}"
        )
    uid = os.geteuid() if service_uid is None else service_uid
    if st.st_uid not in (0, uid):
        raise config.error(
            option,
            f"owner root or the service user (uid {uid})",
            f"{path} owned by uid {st.st_uid}",
        )
    return read_keys(path, errors, bad)


def read_credential(
    path: Path, errors: list[ConfigError] | None = None, bad: set[str] | None = None
) -> dict[str, Key]:
    """`$CREDENTIALS_DIRECTORY/keys.toml`: systemd makes it 0400 for the service user."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(str(path), "", "no group or other permissions", f"mode {mode:04o}")
    return read_keys(path, errors, bad)


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
    write_atomically(path, text, owner=owner)


def _one_line(text: str) -> str:
    return " ".join(text.split())
