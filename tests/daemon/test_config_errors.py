"""Every configuration mistake at once: all tables of config.toml, every [[meters]] table and
every entry of the keys files in one pass, each error naming its file and dotted key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gatewayd.config.keysfile import read_keys
from gatewayd.config.load import ConfigError, load_config
from gatewayd.config.reader import every_error

NON_HEX_KEY = "00112233445566778899AABBCCDDEEFZ"  # 32 characters, the last one not hex
GOOD_KEY = "28F64A24988064A079AA2C807D6102AE"
HEX_KEY = "32 hex digits (AES-128) or 16 (DES)"  # what a key must be


def errors_of(cfg: Path) -> list[ConfigError]:
    with pytest.raises(ConfigError) as caught:
        load_config(cfg, credentials_dir=None)
    return list(every_error(caught.value))


def where(errors: list[ConfigError]) -> list[tuple[str, str]]:
    return [(Path(e.file).name, e.key) for e in errors]


def write(tmp: Path, config: str, keys: str | None = None) -> Path:
    cfg = tmp / "config.toml"
    cfg.write_text(config)
    if keys is not None:
        (tmp / "keys.toml").write_text(keys)
        os.chmod(tmp / "keys.toml", 0o600)
    return cfg


CONFIG = f"""
keys_file = "keys.toml"
[gateway]
id = "bad id!"
[dedup]
window_s = -1
max_entries = 3
[[meters]]
id = "7634879"
name = ""
colour = "red"
[[meters]]
id = "52525252"
encrypted = false
driver = "no-such-driver"
[[meters]]
id = "12345678"
key_ref = "basement"
[[meters]]
id = "87654321"
[[meters]]
id = "11112222"
key = "{GOOD_KEY[:31]}"
[meters.fields]
Apartment = "3B"
floor = [1]
[mqtt]
port = 0
protocol = "5.0"
"""
KEYS = f'[keys]\nbasement = "0011"\n11111111 = "{NON_HEX_KEY}"\n33333333 = "{GOOD_KEY}"\n'


def test_every_mistake_in_every_table_and_the_keys_file_is_reported(tmp_path: Path) -> None:
    cfg = write(tmp_path, CONFIG, KEYS)
    errors = errors_of(cfg)
    assert where(errors) == [
        ("config.toml", "gateway.id"),
        ("config.toml", "dedup.window_s"),
        ("config.toml", "dedup.max_entries"),
        ("keys.toml", "keys.basement"),
        ("keys.toml", "keys.11111111"),
        ("config.toml", "meters[0].colour"),
        ("config.toml", "meters[0].id"),
        ("config.toml", "meters[0].name"),
        ("config.toml", "meters[1].driver"),
        # meters[2] refers to the wrong keys.toml entry: reported there, not twice
        ("config.toml", "meters[3].key"),
        ("config.toml", "meters[4].key"),
        ("config.toml", "meters[4].fields.Apartment"),
        ("config.toml", "meters[4].fields.floor"),
        ("config.toml", "mqtt.port"),
        ("config.toml", "mqtt.protocol"),
    ]
    text = [str(e) for e in errors]
    assert text[1] == f"{cfg}: dedup.window_s: expected a value >= 0, found -1"
    assert text[2] == f"{cfg}: dedup.max_entries: expected a value >= 16, found 3"
    keys = tmp_path / "keys.toml"
    assert text[3] == f"{keys}: keys.basement: expected {HEX_KEY}, found 4 characters"
    assert text[4] == (
        f"{keys}: keys.11111111: expected {HEX_KEY}, found a non-hex character at position 32"
    )
    assert text[6] == f"{cfg}: meters[0].id: expected 8 hex digits, found a string '7634879'"
    assert text[9].startswith(f"{cfg}: meters[3].key: expected a key (key = 32 hex digits")
    assert text[10] == f"{cfg}: meters[4].key: expected {HEX_KEY}, found 31 characters"
    assert text[13] == f"{cfg}: mqtt.port: expected a value >= 1, found 0"
    for secret in (NON_HEX_KEY, GOOD_KEY[:31], GOOD_KEY):
        assert all(secret not in t for t in text)


def test_a_keys_file_that_cannot_be_read_is_one_error_not_one_per_meter(tmp_path: Path) -> None:
    config = 'keys_file = "keys.toml"\n' + "".join(
        f'[[meters]]\nid = "{i}"\n' for i in ("11111111", "22222222")
    )
    cfg = write(tmp_path, config + "[publish]\nheartbeat_s = 0\n", "[keys\n")
    assert where(errors_of(cfg)) == [("config.toml", "publish.heartbeat_s"), ("keys.toml", "")]


def test_with_no_mistake_the_good_entries_are_used(tmp_path: Path) -> None:
    cfg = write(tmp_path, 'keys_file = "keys.toml"\n[[meters]]\nid = "33333333"\n', KEYS)
    errors = errors_of(cfg)  # the keys file still has its two wrong entries
    assert where(errors) == [("keys.toml", "keys.basement"), ("keys.toml", "keys.11111111")]
    (tmp_path / "keys.toml").write_text(f'[keys]\n33333333 = "{GOOD_KEY}"\n')
    (meter,) = load_config(cfg, credentials_dir=None).meters
    assert meter.key is not None and meter.key.raw == bytes.fromhex(GOOD_KEY)


def test_a_keys_file_read_by_a_command_names_every_wrong_entry(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(f"other = 1\n{KEYS}")
    with pytest.raises(ConfigError) as caught:
        read_keys(path)
    assert [e.key for e in every_error(caught.value)] == [
        "other",
        "keys.basement",
        "keys.11111111",
    ]
    assert NON_HEX_KEY not in str(caught.value)


def test_mqtt_mistakes_after_one_that_the_settings_refuse_are_reported_too(tmp_path: Path) -> None:
    cfg = write(tmp_path, '[mqtt]\nkey_file = "client.key"\nprefix = "a/#"\nport = "1883"\n')
    assert where(errors_of(cfg)) == [
        ("config.toml", "mqtt.cert_file"),
        ("config.toml", "mqtt.port"),
        ("config.toml", "mqtt.prefix"),
    ]
