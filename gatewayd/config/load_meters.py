"""The `[[meters]]` tables of config.toml: id, name, driver, key (or where to find it) and the
static `[meters.fields]` merged into each reading. Errors name the file and the dotted key and
never show a key."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Final

from gatewayd.config.reader import ConfigError, Table, looks_like_key, shown
from gatewayd.config.secrets import Key
from gatewayd.config.sections import MeterSettings

METER_KEYS: Final = (
    "id",
    "name",
    "driver",
    "key",
    "key_ref",
    "encrypted",
    "silent_after_s",
    "fields",
)
_METER_KEY_SET: Final = frozenset(METER_KEYS)
_FIELD_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
# A [meters.fields] entry may not take a key of a reading that has a meaning of its own: the
# same set as gatewayd.meters.model.READING_KEYS (a test keeps them equal), written out here so
# that loading a config does not import every driver.
READING_KEYS: Final = frozenset(
    {"id", "name", "manufacturer", "version", "device_type", "meter", "media", "rssi_dbm"}
    | {"timestamp", "dedup_key", "receivers", "alarms", "no_value", "records", "warnings"}
    | {"error", "raw"}
)
_METER_ID: Final = re.compile(r"[0-9A-Fa-f]{8}")
_PLAIN_KEYS: Final = frozenset({"id", "name", "key"})
_PLAIN_KEY: Final = re.compile(r"[0-9A-Fa-f]{32}")  # AES-128, no spaces


def parse_meters(
    root: Table,
    keys: Mapping[str, Key],
    keys_file: Path | None,
    credential: Path | None,
    reported: Collection[str] | None = (),
) -> tuple[MeterSettings, ...]:
    """Every [[meters]] table; on a collecting `root` every mistake in all of them is noted.

    reported: key names whose keys-file entry was wrong (already reported, so a meter that
    refers to one is not also "without a key"); None when a keys file could not be read at all.
    """
    out: list[MeterSettings] = []
    seen: set[str] = set()
    for i, item in enumerate(root.array("meters")):
        fast = _plain_meter(item, keys, seen)
        if fast is not None:
            out.append(fast)
            continue
        mt = root.item("meters", i, item)
        if mt is None:
            continue
        try:
            meter = _meter(mt, keys, keys_file, credential, reported, seen)
        except ConfigError as exc:
            mt.report(exc)
            continue
        if meter is not None:
            out.append(meter)
    return tuple(out)


def _plain_meter(item: object, keys: Mapping[str, Key], seen: set[str]) -> MeterSettings | None:
    """The usual [[meters]] table (only id, name and key, all well formed) in a few
    microseconds; None for anything else, which `_meter` reads and reports on in full. A site
    may configure 10,000 meters, and each is read at every start."""
    if type(item) is not dict or not _PLAIN_KEYS.issuperset(item):
        return None
    mid = item.get("id")
    if type(mid) is not str or not _METER_ID.fullmatch(mid):
        return None
    mid = mid.lower()
    name = item.get("name", mid)
    if mid in seen or type(name) is not str or not name:
        return None
    text = item.get("key")
    if text is None:
        key = keys.get(mid)  # key_ref defaults to the id
    elif type(text) is str and _PLAIN_KEY.fullmatch(text):
        key = Key.from_hex(text)
    else:
        key = None
    if key is None:
        return None
    seen.add(mid)
    return MeterSettings(mid, name, "auto", key, True, (), None)


def _meter(
    mt: Table,
    keys: Mapping[str, Key],
    keys_file: Path | None,
    credential: Path | None,
    reported: Collection[str] | None,
    seen: set[str],
) -> MeterSettings | None:
    """One [[meters]] table (None when its id is wrong and the errors are being collected)."""
    mt.reject_unknown(_METER_KEY_SET)
    mid: str | None = None
    try:
        mid = mt.pattern("id", _METER_ID, "8 hex digits", None).lower()
    except ConfigError as exc:
        mt.report(exc)  # and read the rest: its other mistakes are reported too
    if mid is not None and mid in seen:
        mt.report(mt.error("id", "a meter id not listed before", f"{mid} again"))
    seen.add(mid or "")
    encrypted = mt.boolean("encrypted", True)
    key: Key | None = None
    if "key" in mt:
        try:
            key = mt.key("key")
        except ConfigError as exc:
            mt.report(exc)
    elif encrypted:
        ref = mt.string("key_ref", mid or "none").lower()
        key = keys.get(ref)
        known_bad = reported is None or ref in reported
        if key is None and mid is not None and not known_bad:
            mt.report(_no_key(mt, ref, keys_file, credential))
    name = mt.string("name", mid or "none")
    driver = _driver(mt)
    static = _static_fields(mt.table("fields")) if "fields" in mt else ()
    silent_after_s = _silent_after(mt)
    if mid is None:
        return None
    return MeterSettings(
        id=mid,
        name=name,
        driver=driver,
        key=key,
        encrypted=encrypted,
        fields=static,
        silent_after_s=silent_after_s,
    )


def _silent_after(mt: Table) -> float | None:
    if "silent_after_s" not in mt:
        return None
    return mt.number("silent_after_s", 0.0, minimum=0)


def _static_fields(t: Table) -> tuple[tuple[str, str | int | float | bool], ...]:
    out: list[tuple[str, str | int | float | bool]] = []
    for name in t.names():
        if not _FIELD_NAME.fullmatch(name) or name in READING_KEYS:
            t.report(
                t.error(
                    shown(name),
                    "a field name of lower-case letters, digits and _ that a reading does not "
                    "already use (" + ", ".join(sorted(READING_KEYS)) + ")",
                    repr(name),
                )
            )
            continue
        try:
            out.append((name, t.scalar(name)))
        except ConfigError as exc:
            t.report(exc)
    return tuple(out)


def _driver(mt: Table) -> str:
    if "driver" not in mt:
        return "auto"
    # Only when a meter names a driver (the registry is a table; no driver module is loaded).
    from gatewayd.meters.registry import driver_names  # noqa: PLC0415

    return mt.choice("driver", driver_names(), "auto")


def _no_key(mt: Table, ref: str, keys_file: Path | None, credential: Path | None) -> ConfigError:
    where = (
        " or ".join(str(s) for s in (keys_file, credential) if s is not None)
        or "no keys_file configured"
    )
    if looks_like_key(ref):
        # A key pasted as key_ref: say so without printing it.
        return mt.error(
            "key_ref",
            "the name of an entry in [keys] of the keys file (a key itself goes in key = ...)",
            "a value that looks like a key",
        )
    return mt.error(
        "key",
        f"a key (key = 32 hex digits, or 16 for DES, or an entry {ref} in [keys] of the keys file; "
        "encrypted = false for a meter that sends in clear)",
        f"none ({where})",
    )
