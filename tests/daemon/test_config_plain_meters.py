"""The usual [[meters]] table (id, name, key) is read by a fast path: what it gives, and the
errors reported around it, must be exactly what the full reading of each table gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli

from gatewayd.config import load_meters
from gatewayd.config.load import ConfigError, load_config
from gatewayd.config.reader import every_error
from gatewayd.config.secrets import Key

KEY = "28F64A24988064A079AA2C807D6102AE"
SPACED = " ".join(KEY[i : i + 4] for i in range(0, 32, 4))

TABLES = [
    f'id = "1000ABCD"\nname = "kitchen"\nkey = "{KEY}"',  # upper-case id and key
    f'id = "10000001"\nkey = "{KEY.lower()}"',  # no name: the id
    'id = "10000002"\nname = "by ref"',  # key from the keys file, by id
    'id = "10000003"\nname = "ref"\nkey_ref = "shared"',
    f'id = "10000004"\nname = "spaced"\nkey = "{SPACED}"',
    'id = "10000005"\nname = "des"\nkey = "f0e1d2c3b4a59687"',
    'id = "10000006"\nencrypted = false',
    f'id = "10000007"\nname = "heat"\ndriver = "multical21"\nkey = "{KEY}"\nsilent_after_s = 60',
    f'id = "10000008"\nname = "flat"\nkey = "{KEY}"\n[meters.fields]\nflat = "3b"',
]
BROKEN = [
    f'id = "1000ABCD"\nname = "again"\nkey = "{KEY}"',  # a duplicate id
    f'id = "1234"\nkey = "{KEY}"',  # a short id
    f'id = 12345678\nkey = "{KEY}"',  # not a string
    f'id = "10000010"\nname = ""\nkey = "{KEY}"',  # empty name
    f'id = "10000011"\nname = 3\nkey = "{KEY}"',
    'id = "10000012"\nkey = "00112233445566778899AABBCCDDEEFZ"',  # not hex
    'id = "10000013"\nkey = 7',
    'id = "10000014"',  # no key anywhere
    f'id = "10000015"\nkey = "{KEY}"\ncolour = "red"',  # unknown key
]
KEYS = '[keys]\n10000002 = "000102030405060708090a0b0c0d0e0f"\n'
KEYS += 'shared = "0f0e0d0c0b0a09080706050403020100"\n'


def write(tmp: Path, tables: list[str]) -> Path:
    (tmp / "keys.toml").write_text(KEYS)
    (tmp / "keys.toml").chmod(0o600)
    body = "".join(f"[[meters]]\n{t}\n" for t in tables)
    cfg = tmp / "config.toml"
    cfg.write_text(f'keys_file = "keys.toml"\n[gateway]\nstate_dir = "{tmp}/state"\n{body}')
    return cfg


def outcome(cfg: Path) -> object:
    try:
        return load_config(cfg, credentials_dir=None).meters
    except ConfigError as exc:
        return [(e.key, e.expected, e.found) for e in every_error(exc)]


def without_fast_path(monkeypatch: pytest.MonkeyPatch, cfg: Path) -> object:
    with monkeypatch.context() as m:
        m.setattr(load_meters, "_plain_meter", lambda *_a: None)
        return outcome(cfg)


def test_the_fast_path_reads_good_tables_as_the_full_reading_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write(tmp_path, TABLES)
    fast = outcome(cfg)
    assert isinstance(fast, tuple) and len(fast) == len(TABLES)
    assert fast == without_fast_path(monkeypatch, cfg)
    first = fast[0]
    assert (first.id, first.name, first.driver, first.encrypted) == (
        "1000abcd",
        "kitchen",
        "auto",
        True,
    )
    assert first.key is not None and first.key.raw == bytes.fromhex(KEY)
    assert fast[1].name == "10000001"
    assert fast[2].key is not None and fast[2].key.raw == bytes(range(16))


@pytest.mark.parametrize("broken", range(len(BROKEN)))
def test_every_mistake_is_reported_as_the_full_reading_reports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: int
) -> None:
    cfg = write(tmp_path, [*TABLES[:3], BROKEN[broken], *TABLES[3:]])
    errors = outcome(cfg)
    assert isinstance(errors, list) and errors, errors  # each one is a mistake
    assert errors == without_fast_path(monkeypatch, cfg)
    index = 3  # the broken table's place
    assert all(key.startswith(f"meters[{index}]") for key, _e, _f in errors), errors


def test_all_mistakes_at_once_with_good_tables_between(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = [t for pair in zip(TABLES, BROKEN, strict=True) for t in pair]
    cfg = write(tmp_path, tables)
    errors = outcome(cfg)
    assert isinstance(errors, list) and len(errors) >= len(BROKEN)
    assert errors == without_fast_path(monkeypatch, cfg)


def test_only_the_plain_tables_take_the_fast_path() -> None:
    tables = [tomli.loads(t) for t in TABLES]
    keys = {"10000002": Key(bytes(range(16)))}
    taken = [load_meters._plain_meter(t, keys, set()) is not None for t in tables]
    assert taken == [True, True, True, False, False, False, False, False, False]
