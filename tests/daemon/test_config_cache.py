"""The cache of parsed TOML files ($CACHE_DIRECTORY under systemd): a cached start reads the
same document the parser gives, never from a stale or damaged entry, and the cache holds no
string of the file (no key, no password)."""

from __future__ import annotations

import hashlib
import marshal
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomli

from gatewayd.config import reader, toml_cache
from gatewayd.config.load import load_config

ROOT = Path(__file__).resolve().parents[2]
KEY = "5c7e1f3a9b2d4e6f8a0b1c2d3e4f5a6b"  # not a key of any other test (a process-wide registry)
PASSWORD = "wobbly-lantern-42"


def _meters_config(n: int, *, crlf: bool = False) -> str:
    lines = ['[gateway]\nid = "site-7"\n', '[radio]\nkind = "replay"\ndevice = "/dev/null"\n']
    for i in range(n):
        key = hashlib.blake2b(i.to_bytes(4, "big"), digest_size=16).hexdigest()
        lines.append(f'[[meters]]\nid = "{0x20000000 + i:08x}"\nname = "flat {i}"\nkey = "{key}"\n')
    text = "".join(lines)
    return text.replace("\n", "\r\n") if crlf else text


ODD = f'''# every kind of string TOML has, and every value kind the cache holds
title = "Grüße, façade ✓"
literal = 'C:\\path\\no escapes'
multi = """
first line
second line"""
multi_literal = \'\'\'
raw \\n stays\'\'\'
escaped = "C:\\\\temp"  # an escape, whose text the file also has as such (below)
empty = ""
number = -17
big = 12345678901234567890
ratio = 0.25
inf = inf
yes = true
"quoted key with spaces" = 1
"{KEY}" = "a key as a table name"
nested = {{ a = [1, [2, "three"], {{ b = "four" }}], c = [] }}
[[tables]]
x = "again"
[[tables]]
x = "again"
[deep.er.still]
windows = 'C:\\temp'
password = "{PASSWORD}"
'''


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def _strings(doc: object) -> list[str]:
    """Every string value (not the table names: short plain ones are kept as they are)."""
    if isinstance(doc, str):
        return [doc]
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in _strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return []


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    d.mkdir(mode=0o700)
    monkeypatch.setenv("CACHE_DIRECTORY", str(d))
    return d


def _parser_forbidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_text: str) -> dict[str, Any]:
        raise AssertionError("parsed although an entry for these bytes was cached")

    monkeypatch.setattr(tomli, "loads", refuse)  # the module reader.load_toml calls


@pytest.mark.parametrize(
    "text",
    [
        _meters_config(300),
        _meters_config(20, crlf=True),
        ODD,
        (ROOT / "config.toml").read_text(),
        (ROOT / "deploy" / "config.toml").read_text(),
    ],
    ids=["300-meters", "crlf", "odd-strings", "repo-config", "deploy-config"],
)
def test_a_cached_document_is_the_parsers(
    text: str, tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "config.toml", text)
    expected = tomli.loads(text)
    assert reader.load_toml(path) == expected  # parsed, and the entry written
    entries = list(cache_dir.iterdir())
    assert [e.name for e in entries] == [toml_cache.entry_path(cache_dir, path).name]
    assert stat.S_IMODE(entries[0].stat().st_mode) == 0o600
    _parser_forbidden(monkeypatch)
    again = reader.load_toml(path)
    assert again == expected
    assert [type(v) for v in again.values()] == [type(v) for v in expected.values()]


def test_the_cache_holds_no_string_of_the_file(tmp_path: Path, cache_dir: Path) -> None:
    keys = "".join(
        f'"{0x20000000 + i:08x}" = "{hashlib.sha256(bytes([i])).hexdigest()[:32]}"\n'
        for i in range(50)
    )
    keys_path = _write(tmp_path, "keys.toml", "[keys]\n" + keys)
    config = _write(tmp_path, "config.toml", _meters_config(50) + ODD)
    docs = [reader.load_toml(keys_path), reader.load_toml(config)]
    blob = b"".join(p.read_bytes() for p in cache_dir.iterdir())
    assert len(list(cache_dir.iterdir())) == 2
    secrets = [s for doc in docs for s in _strings(doc) if len(s) >= 6]
    assert PASSWORD in secrets  # what the check below looks for
    secrets.append(KEY)  # a table name that is a key
    for s in secrets:
        for form in {s, s.upper(), s.lower()}:
            assert form.encode() not in blob, form[:4]
    for s in secrets:  # nor the bytes of a key
        if len(s) == 32 and all(c in "0123456789abcdef" for c in s.lower()):
            assert bytes.fromhex(s) not in blob


def test_a_changed_file_is_parsed_again(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "config.toml", 'name = "aaaa"\nport = 1883\n')
    assert reader.load_toml(path) == {"name": "aaaa", "port": 1883}
    path.write_bytes(b'name = "bbbb"\nport = 1884\n')  # same length, same shape
    assert reader.load_toml(path) == {"name": "bbbb", "port": 1884}
    _parser_forbidden(monkeypatch)  # and the new bytes' entry replaced the old one
    assert reader.load_toml(path) == {"name": "bbbb", "port": 1884}


def _entry_with_body(cache_dir: Path, path: Path, body: bytes) -> None:
    """An entry for `path`'s bytes whose checksum holds, around any body."""
    head = toml_cache.MAGIC + toml_cache.source_digest(path.read_bytes())
    digest = hashlib.blake2b(body, digest_size=toml_cache.DIGEST).digest()
    toml_cache.entry_path(cache_dir, path).write_bytes(head + digest + body)


@pytest.mark.parametrize(
    "damage",
    ["flip-a-byte", "truncate", "empty", "garbage", "foreign-body", "not-a-table"],
)
def test_a_damaged_entry_is_not_used(damage: str, tmp_path: Path, cache_dir: Path) -> None:
    text = _meters_config(30)
    path = _write(tmp_path, "config.toml", text)
    expected = tomli.loads(text)
    reader.load_toml(path)
    entry = toml_cache.entry_path(cache_dir, path)
    blob = bytearray(entry.read_bytes())
    if damage == "flip-a-byte":
        blob[len(blob) // 2] ^= 0x01
        entry.write_bytes(bytes(blob))
    elif damage == "truncate":
        entry.write_bytes(bytes(blob[: len(blob) - 100]))
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "garbage":
        entry.write_bytes(os.urandom(len(blob)))
    elif damage == "foreign-body":
        _entry_with_body(cache_dir, path, marshal.dumps([1, 2, 3]))
    else:
        _entry_with_body(cache_dir, path, marshal.dumps((b"\xe9\x00", [], [], [])))
    assert toml_cache.load(cache_dir, path, path.read_bytes()) is None
    assert reader.load_toml(path) == expected
    assert toml_cache.load(cache_dir, path, path.read_bytes()) == expected  # written anew


def test_no_usable_directory_means_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "config.toml", _meters_config(5))
    expected = tomli.loads(path.read_text())
    a_file = _write(tmp_path, "not-a-dir", "")
    for where in (tmp_path / "missing", a_file, a_file / "below"):
        monkeypatch.setenv("CACHE_DIRECTORY", str(where))
        assert reader.load_toml(path) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "not-a-dir"]
    monkeypatch.delenv("CACHE_DIRECTORY")
    assert toml_cache.directory() is None
    assert reader.load_toml(path) == expected


@pytest.mark.parametrize(
    "text",
    [
        "when = 2026-12-01T10:00:00Z\nday = 2026-12-01\n",  # dates: not held
        'pin = "tab\\tand \\"quotes\\" and \\u00e9"\n',  # a string not in the text as such
    ],
    ids=["dates", "escapes"],
)
def test_what_it_cannot_hold_is_parsed_each_time(
    text: str, tmp_path: Path, cache_dir: Path
) -> None:
    path = _write(tmp_path, "config.toml", text)
    expected = tomli.loads(path.read_text())
    assert reader.load_toml(path) == expected
    assert reader.load_toml(path) == expected
    assert list(cache_dir.iterdir()) == []


def test_cache_false_neither_reads_nor_writes(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "config.toml", 'a = "b"\n')
    assert reader.load_toml(path, cache=False) == {"a": "b"}
    assert list(cache_dir.iterdir()) == []


def test_a_config_loads_the_same_from_the_cache(tmp_path: Path, cache_dir: Path) -> None:
    """The whole config (meters, keys file) built from cached documents equals the one built
    from parsed ones."""
    keys_path = _write(tmp_path, "keys.toml", f'[keys]\n"30000001" = "{KEY}"\n')
    keys_path.chmod(0o600)
    by_ref = '[[meters]]\nid = "30000001"\nname = "by the keys file"\n'
    text = f'keys_file = "{keys_path}"\n' + _meters_config(40) + by_ref
    path = _write(tmp_path, "config.toml", text)
    parsed = load_config(path, credentials_dir=None)
    assert len(list(cache_dir.iterdir())) == 2  # config.toml and keys.toml
    cached = load_config(path, credentials_dir=None)
    assert cached == parsed
    assert len(cached.meters) == 41
    key = cached.meters[-1].key
    assert key is not None and key.raw == bytes.fromhex(KEY)


def test_a_cached_start_does_not_load_the_parser(tmp_path: Path, cache_dir: Path) -> None:
    """Each start is a new process: the second one finds the entry and never imports tomli."""
    path = _write(tmp_path, "config.toml", _meters_config(10))
    probe = (
        "import sys\n"
        "from gatewayd.config.load import load_config\n"
        f"config = load_config({str(path)!r}, credentials_dir=None)\n"
        "print(len(config.meters), 'tomli' in sys.modules)\n"
    )
    env = {**os.environ, "CACHE_DIRECTORY": str(cache_dir)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs == [["10", "True"], ["10", "False"]]
