"""`gatewayd keys import-kem FILE`: Kamstrup KEM file -> `[keys]` entries for keys.toml.

Prints the entries on stdout, or with `--merge keys.toml` merges them into that file (written
atomically, mode 0600, owner kept; other entries kept; comments are not). Keys go to stdout or
the file only: every message on stderr names meters by id, never by key. `--meters` also prints
a `[[meters]]` stub per meter for config.toml (id, a driver from the KEM's meter type, a name
to change), without its key: the loader finds it in keys.toml by the id.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import stat
import sys
from pathlib import Path

from gatewayd.config.kem import KemError, KemFile, WrongPasswordError, driver_guess, read_kem
from gatewayd.config.keysfile import (
    HEADER,
    format_keys,
    merge,
    read_keys,
    write_keys_file,
)
from gatewayd.errors import ConfigurationError

PASSWORD_ENV = "GATEWAYD_KEM_PASSWORD"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="keys_command", metavar="ACTION")
    imp = sub.add_parser(
        "import-kem",
        help="read a Kamstrup KEM key file (.kem, .kem2, or a zip of them)",
        description=(
            "Decrypt a Kamstrup KEM key file and print [keys] entries for keys.toml, or merge "
            f"them into a keys file. The password comes from --password, --password-file, "
            f"${PASSWORD_ENV}, or a prompt."
        ),
    )
    imp.add_argument("file", type=Path, metavar="FILE", help="the .kem/.kem2 file or zip")
    pw = imp.add_mutually_exclusive_group()
    pw.add_argument("--password", help="the KEM password (visible to other local users)")
    pw.add_argument(
        "--password-file", type=Path, metavar="PATH", help="read the password's first line"
    )
    imp.add_argument(
        "--merge",
        type=Path,
        metavar="KEYS_TOML",
        help="merge into this keys file (created if absent) instead of printing",
    )
    imp.add_argument(
        "--meters",
        action="store_true",
        help="also print a [[meters]] stub per meter for config.toml (no keys in them)",
    )


def run(args: argparse.Namespace) -> int:
    if args.keys_command != "import-kem":
        print("gatewayd keys: choose an action: import-kem", file=sys.stderr)
        return 2
    return _import_kem(args)


def _import_kem(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"gatewayd keys: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    password = _password(args)
    if password is None:
        print(
            f"gatewayd keys: no password (use --password, --password-file or ${PASSWORD_ENV})",
            file=sys.stderr,
        )
        return 2
    try:
        kem = read_kem(data, password)
    except WrongPasswordError as exc:
        print(f"gatewayd keys: {path}: {exc}", file=sys.stderr)
        return 2
    except KemError as exc:
        print(f"gatewayd keys: {path}: {exc}", file=sys.stderr)
        return 1
    for reason in kem.skipped:
        print(f"gatewayd keys: {path}: skipped {reason}", file=sys.stderr)
    if not kem.meters:
        print(f"gatewayd keys: {path}: no usable meter keys in the file", file=sys.stderr)
        return 1
    if args.merge is None:
        sys.stdout.write(f"# {path.name}: {kem.schema}, {len(kem.meters)} meter(s)\n")
        sys.stdout.write(format_keys(*_keys_and_notes(kem)))
        rc = 0
    else:
        rc = _merge_into(args.merge, kem)
    if args.meters and rc == 0:
        sys.stdout.write(meter_stubs(kem))
    return rc


def meter_stubs(kem: KemFile) -> str:
    """`[[meters]]` tables for config.toml: id, driver from the meter type, a name to change."""
    out = ["", "# [[meters]] for config.toml: give each a name that says where it is; the key is"]
    out.append("# found in keys.toml by the id. Check each with `gatewayd listen --config ...`.")
    for m in sorted(kem.meters, key=lambda m: m.id):
        model = " ".join(m.model.split())  # one line, whatever the file held
        driver = driver_guess(model)
        why = f"  # from the KEM's meter type {model}" if model and driver != "auto" else ""
        if driver == "auto" and model:
            why = f"  # meter type {model}: auto picks the driver from its telegrams"
        placeholder = f"{model or 'meter'} {m.id}"
        out += ["", "[[meters]]", f'id = "{m.id}"', f"name = {json.dumps(placeholder)}"]
        out.append(f'driver = "{driver}"{why}')
    return "\n".join(out) + "\n"


def _merge_into(target: Path, kem: KemFile) -> int:
    existing: dict[str, str] = {}
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        print(f"gatewayd keys: cannot read {target}: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        if st is not None:
            existing = {name: key.raw.hex().upper() for name, key in read_keys(target).items()}
        keys, _notes = _keys_and_notes(kem)
        result = merge(existing, keys)
        write_keys_file(target, HEADER + format_keys(result.keys))
    except ConfigurationError as exc:
        print(f"gatewayd keys: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"gatewayd keys: cannot write {target}: {exc.strerror}", file=sys.stderr)
        return 1
    if st is not None and stat.S_IMODE(st.st_mode) & 0o077:
        print(
            f"gatewayd keys: warning: {target} was mode {stat.S_IMODE(st.st_mode):04o}; it is "
            "0600 now, but the keys in it may have been read by others",
            file=sys.stderr,
        )
    print(
        f"gatewayd keys: {target}: {len(result.added)} added, {len(result.updated)} updated, "
        f"{len(result.unchanged)} unchanged, {len(result.keys)} in all",
        file=sys.stderr,
    )
    for label, ids in (("added", result.added), ("updated", result.updated)):
        if ids:
            print(f"gatewayd keys: {label}: {' '.join(ids)}", file=sys.stderr)
    return 0


def _keys_and_notes(kem: KemFile) -> tuple[dict[str, bytes], dict[str, str]]:
    keys = {m.id: m.key for m in kem.meters}
    notes = {m.id: m.model for m in kem.meters if m.model}
    return keys, notes


def _password(args: argparse.Namespace) -> str | None:
    if args.password is not None:
        return str(args.password)
    if args.password_file is not None:
        try:
            text: str = args.password_file.read_text(encoding="utf-8")
        except OSError:
            return None
        return text.splitlines()[0] if text else ""
    if PASSWORD_ENV in os.environ:
        return os.environ[PASSWORD_ENV]
    if sys.stdin.isatty():
        return getpass.getpass("KEM password: ")
    return None
