"""Config errors never show a secret: not a password's value, not anything that looks like a key
(wherever it was pasted), and the one keys parser answers the same way for every caller."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gatewayd.commands.decode import load_keys
from gatewayd.config.keysfile import read_keys
from gatewayd.config.load import ConfigError, load_config
from gatewayd.config.sections import MeterSettings

KEY = "28F64A24988064A079AA2C807D6102AE"  # the documented public test key
SPACED = " ".join(KEY[i : i + 2] for i in range(0, 32, 2))


def error_of(tmp: Path, text: str, keys: str | None = None) -> str:
    cfg = tmp / "config.toml"
    cfg.write_text(text)
    if keys is not None:
        (tmp / "keys.toml").write_text(keys)
        os.chmod(tmp / "keys.toml", 0o600)
    with pytest.raises(ConfigError) as info:
        load_config(cfg, credentials_dir=None)
    return str(info.value)


def assert_no_key(message: str) -> None:
    """No 16-digit stretch of the key, in either case, with or without spaces."""
    flat = message.replace(" ", "").upper()
    for start in range(17):
        assert KEY[start : start + 16] not in flat, message


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("123456789", "an integer"),
        ("12.5", "a number"),
        ("true", "a boolean"),
        ('["hunter2-secret"]', "an array"),
        ('{ text = "hunter2-secret" }', "a table"),
    ],
)
def test_a_password_of_the_wrong_type_is_named_by_type_only(
    tmp_path: Path, value: str, found: str
) -> None:
    msg = error_of(tmp_path, f"[mqtt]\npassword = {value}\n")
    assert msg == f"{tmp_path / 'config.toml'}: mqtt.password: expected a string, found {found}"
    for secret in ("123456789", "12.5", "hunter2-secret", "True", "true"):
        assert secret not in msg


def test_a_key_pasted_as_a_meter_id_is_not_printed(tmp_path: Path) -> None:
    for pasted in (KEY, KEY.lower(), SPACED):
        msg = error_of(tmp_path, f'[[meters]]\nid = "{pasted}"\n')
        assert "meters[0].id: expected 8 hex digits, found a string of" in msg
        assert "that looks like a key" in msg
        assert_no_key(msg)


def test_a_key_pasted_as_key_ref_is_not_printed(tmp_path: Path) -> None:
    text = f'keys_file = "keys.toml"\n[[meters]]\nid = "76348799"\nkey_ref = "{KEY}"\n'
    msg = error_of(tmp_path, text, keys='[keys]\n11111111 = "000102030405060708090A0B0C0D0E0F"\n')
    assert msg.startswith(f"{tmp_path / 'config.toml'}: meters[0].key_ref: expected the name of")
    assert msg.endswith("found a value that looks like a key")
    assert_no_key(msg)


@pytest.mark.parametrize(
    "text",
    [
        f'[radio]\nkind = "{KEY}"\n',
        f'[radio]\nmode = "{SPACED}"\n',
        f'[log]\nlevel = "{KEY}"\n',
        f'[[meters]]\nid = "76348799"\nencrypted = false\ndriver = "{KEY}"\n',
        f'[mqtt]\n"{KEY}" = 1\n',  # a key pasted as a key name
        f'[mqtt]\nport = "{KEY}"\n',
        f'[gateway]\nid = "{KEY}-x y"\n',
    ],
)
def test_no_message_shows_a_key_wherever_it_was_pasted(tmp_path: Path, text: str) -> None:
    msg = error_of(tmp_path, text)
    assert msg.startswith(f"{tmp_path / 'config.toml'}: ")
    assert_no_key(msg)


def test_a_key_pasted_as_a_name_in_the_keys_file_is_not_printed(tmp_path: Path) -> None:
    text = 'keys_file = "keys.toml"\n'
    msg = error_of(tmp_path, text, keys=f'[keys]\n{KEY} = "ABCD"\n')
    assert msg.endswith("expected 32 hex digits (AES-128) or 16 (DES), found 4 characters")
    assert_no_key(msg)


def test_check_config_exits_2_without_echoing_the_password(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[gateway]\nstate_dir = "{tmp_path}"\n[mqtt]\npassword = 123456789\n')
    p = subprocess.run(
        [sys.executable, "-m", "gatewayd", "check-config", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert p.returncode == 2
    assert "mqtt.password: expected a string, found an integer" in p.stderr
    assert "123456789" not in p.stderr + p.stdout


# ---------------------------------------------------------------- one keys parser


def test_every_caller_reads_keys_files_through_one_parser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gatewayd.cli import main

    good = tmp_path / "good.toml"
    good.write_text(f'[keys]\n76348799 = "{KEY}"\nKitchen = "{KEY.lower()}"\n')
    keys = read_keys(good)
    assert {name: k.raw for name, k in keys.items()} == {
        "76348799": bytes.fromhex(KEY),
        "kitchen": bytes.fromhex(KEY),
    }
    assert load_keys(good) == {"76348799": bytes.fromhex(KEY), "kitchen": bytes.fromhex(KEY)}

    bad = tmp_path / "keys.toml"
    bad.write_text('[keys]\n76348799 = "ABCD"\n')
    os.chmod(bad, 0o600)
    expected = (
        f"{bad}: keys.76348799: expected 32 hex digits (AES-128) or 16 (DES), found 4 characters"
    )
    with pytest.raises(ConfigError) as info:
        read_keys(bad)
    assert str(info.value) == expected
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'keys_file = "{bad.name}"\n')
    with pytest.raises(ConfigError) as info:
        load_config(cfg, credentials_dir=None)
    assert str(info.value) == expected
    assert main(["decode", "--keys", str(bad), "2A44"]) == 2
    assert expected in capsys.readouterr().err


def test_decode_json_keys_use_the_same_key_checks(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"76348799": KEY[:31] + "G"}))
    with pytest.raises(ConfigError) as info:
        load_keys(path)
    assert str(info.value) == (
        f"{path}: 76348799: expected 32 hex digits (AES-128) "
        "or 16 (DES), found a non-hex character at position 32"
    )


# ---------------------------------------------------------------- meters by id


def test_meters_are_found_by_id_and_the_index_follows_a_reload(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        "".join(f'[[meters]]\nid = "{i:08X}"\nencrypted = false\n' for i in range(0xAB, 0xAB + 50))
    )
    config = load_config(cfg, credentials_dir=None)
    found = config.meter("000000ba")
    assert found is not None and found.id == "000000ba" and found is config.meters[0xBA - 0xAB]
    assert config.meter("000000BA") is found
    assert config.meter("12345678") is None
    replaced = dataclasses.replace(config, meters=(MeterSettings(id="12345678", name="new"),))
    assert replaced.meter("12345678") is not None and replaced.meter("000000ba") is None


# ---------------------------------------------------------------- the log scrubber


def test_scrub_masks_a_key_wherever_it_sits_in_hex_and_in_any_case() -> None:
    from gatewayd.config.secrets import MASK, Key, Secret, scrub_secrets

    key = Key.from_hex("0F1E2D3C4B5A69788796A5B4C3D2E1F0")
    hx = key.raw.hex()
    Secret("correct-horse-battery")
    mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(hx))
    assert scrub_secrets(f"key {hx} end") == f"key {MASK} end"
    assert scrub_secrets(f"frame 2A44{hx.upper()}0102 end") == f"frame 2A44{MASK}0102 end"
    assert scrub_secrets(mixed) == MASK
    assert scrub_secrets("pw=correct-horse-battery;") == f"pw={MASK};"
    unrelated = "00112233445566778899aabbccddeeff0011"  # 36 hex digits, no registered key
    assert scrub_secrets(unrelated) == unrelated
    assert scrub_secrets(hx[:31]) == hx[:31]  # 31 digits of a key are not the key


# ---------------------------------------------------------------- [mqtt] password in config.toml


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_password_in_a_config_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[gateway]\nstate_dir = "{tmp_path}"\n[mqtt]\npassword = "hunter2-secret"\n')
    cfg.chmod(mode)
    p = subprocess.run(
        [sys.executable, "-m", "gatewayd", "check-config", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert p.returncode == 2
    (line,) = p.stderr.splitlines()
    assert line.startswith(f"gatewayd: {cfg}: mqtt.password: expected the broker password in ")
    assert "/etc/gatewayd/mqtt-password" in line and "--mqtt-password-file" in line
    assert line.endswith(f"which has mode {mode:04o}")
    assert "hunter2" not in p.stderr + p.stdout


def test_a_password_in_an_owner_only_config_still_works(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[gateway]\nstate_dir = "{tmp_path}"\n[mqtt]\npassword = "hunter2-secret"\n')
    cfg.chmod(0o600)
    config = load_config(cfg, credentials_dir=None)
    assert config.mqtt is not None and config.mqtt.password is not None
    assert config.mqtt.password.value == "hunter2-secret"
