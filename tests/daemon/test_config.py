"""config.toml parsing: typed settings, key sources, and one clear error per mistake."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gatewayd.config.load import ConfigError, load_config
from gatewayd.config.schema import ListenMode

KEY = "28F64A24988064A079AA2C807D6102AE"  # K1's key: a published test key, no real meter's

FULL = f"""
keys_file = "keys.toml"

[gateway]
id = "site-17"
state_dir = "state"

[radio]
kind = "amb8465"
device = "/dev/ttyUSB1"
mode = "c1+t1"
silence_reset_s = 300

[dedup]
window_s = 30

[publish]
heartbeat_s = 600

[[meters]]
id = "76348799"
name = "kitchen"
key = "{KEY}"

[[meters]]
id = "52525252"
driver = "kamwater"

[[meters]]
id = "12345678"
encrypted = false

[mqtt]
host = "broker.lan"
port = 8883
password = "hunter22"
tls = true

[ble]
enabled = true
security = "encrypted"

[stdout]
enabled = true

[log]
level = "debug"
"""


def write(
    tmp: Path,
    text: str,
    keys: str | None = None,
    keys_mode: int = 0o600,
    config_mode: int | None = None,
) -> Path:
    cfg = tmp / "config.toml"
    cfg.write_text(text)
    if config_mode is not None:
        os.chmod(cfg, config_mode)
    if keys is not None:
        k = tmp / "keys.toml"
        k.write_text(keys)
        os.chmod(k, keys_mode)
    return cfg


def error_of(path: Path, service_uid: int | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, credentials_dir=None, service_uid=service_uid)
    return str(info.value)


def test_full_config(tmp_path: Path) -> None:
    # FULL has [mqtt] password: accepted only in a config.toml nobody else can read
    cfg = write(
        tmp_path,
        FULL,
        keys='[keys]\n52525252 = "000102030405060708090A0B0C0D0E0F"\n',
        config_mode=0o600,
    )
    c = load_config(cfg, credentials_dir=None)
    assert c.gateway.id == "site-17"
    assert c.gateway.state_dir == tmp_path / "state"
    assert (c.radio.kind, c.radio.device, c.radio.mode, c.radio.silence_reset_s) == (
        "amb8465",
        "/dev/ttyUSB1",
        ListenMode.C1_T1,
        300.0,
    )
    assert c.dedup.window_s == 30 and c.publish.heartbeat_s == 600
    assert [m.id for m in c.meters] == ["76348799", "52525252", "12345678"]
    assert c.meters[0].key is not None and c.meters[0].key.raw == bytes.fromhex(KEY)
    assert c.meters[1].key is not None and c.meters[1].key.raw == bytes(range(16))
    assert c.meters[1].driver == "kamwater" and c.meters[0].driver == "auto"
    assert c.meters[2].key is None and c.meters[2].encrypted is False
    assert c.mqtt is not None and (c.mqtt.host, c.mqtt.port, c.mqtt.tls) == (
        "broker.lan",
        8883,
        True,
    )
    assert c.mqtt.password is not None and c.mqtt.password.value == "hunter22"
    assert c.ble is not None and c.ble.security == "encrypted"
    assert c.stdout.enabled and c.log.level == "debug"
    assert c.keys() == {"76348799": bytes.fromhex(KEY), "52525252": bytes(range(16))}


def test_defaults_and_absent_sinks(tmp_path: Path) -> None:
    c = load_config(write(tmp_path, ""), credentials_dir=None)
    assert (c.radio.kind, c.radio.mode, c.dedup.window_s, c.publish.heartbeat_s) == (
        "im871a",
        ListenMode.C1,
        60.0,
        900.0,
    )
    assert c.mqtt is None and c.ble is None and c.meters == ()
    assert c.radio.read_interval_ms == 75  # a batch of telegrams a read (radios/pacing.py)
    c = load_config(write(tmp_path, "[mqtt]\n"), credentials_dir=None)
    assert c.mqtt is not None and c.mqtt.commit_window_ms == 0  # a read is one commit
    c = load_config(write(tmp_path, "[mqtt]\ncommit_window_ms = 20\n"), credentials_dir=None)
    assert c.mqtt is not None and c.mqtt.commit_window_ms == 20
    c = load_config(write(tmp_path, "[radio]\nread_interval_ms = 0\n"), credentials_dir=None)
    assert c.radio.read_interval_ms == 0
    c = load_config(write(tmp_path, "[ble]\nenabled = false\n"), credentials_dir=None)
    assert c.ble is None


def test_secrets_never_in_repr(tmp_path: Path) -> None:
    # FULL has [mqtt] password: accepted only in a config.toml nobody else can read
    cfg = write(
        tmp_path,
        FULL,
        keys='[keys]\n52525252 = "000102030405060708090A0B0C0D0E0F"\n',
        config_mode=0o600,
    )
    text = repr(load_config(cfg, credentials_dir=None))
    for secret in (KEY, KEY.lower(), "000102030405060708090a0b0c0d0e0f", "hunter22"):
        assert secret not in text.upper() and secret not in text
    assert "Key(<redacted>)" in text


def test_malformed_key_length(tmp_path: Path) -> None:
    meters = [("11111111", KEY), ("22222222", KEY), ("33333333", KEY[:30])]
    cfg = write(tmp_path, "".join(f'[[meters]]\nid = "{i}"\nkey = "{k}"\n' for i, k in meters))
    msg = error_of(cfg)
    assert (
        msg == f"{cfg}: meters[2].key: expected 32 hex digits (AES-128) "
        "or 16 (DES), found 30 characters"
    )


def test_non_hex_key_is_described_without_showing_it(tmp_path: Path) -> None:
    bad = KEY[:5] + "G" + KEY[6:]
    cfg = write(tmp_path, f'[[meters]]\nid = "76348799"\nkey = "{bad}"\n')
    msg = error_of(cfg)
    assert (
        msg == f"{cfg}: meters[0].key: expected 32 hex digits (AES-128) "
        "or 16 (DES), found a non-hex character at position 6"
    )
    assert bad not in msg and KEY[6:] not in msg


def test_missing_key(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        '[[meters]]\nid = "11111111"\nkey = "' + KEY + '"\n\n[[meters]]\nid = "76348799"\n',
    )
    msg = error_of(cfg)
    assert msg.startswith(
        f"{cfg}: meters[1].key: expected a key (key = 32 hex digits, "
        "or 16 for DES, or an entry 76348799"
    )
    assert msg.endswith("found none (no keys_file configured)")


def test_key_ref_missing_from_keys_file(tmp_path: Path) -> None:
    text = 'keys_file = "keys.toml"\n[[meters]]\nid = "76348799"\nkey_ref = "kitchen"\n'
    cfg = write(tmp_path, text, keys=f'[keys]\n76348799 = "{KEY}"\n')
    msg = error_of(cfg)
    assert "meters[0].key: expected a key" in msg and "an entry kitchen" in msg
    assert f"found none ({tmp_path / 'keys.toml'})" in msg


def test_world_readable_keys_file_is_refused(tmp_path: Path) -> None:
    text = 'keys_file = "keys.toml"\n[[meters]]\nid = "76348799"\n'
    cfg = write(tmp_path, text, keys=f'[keys]\n76348799 = "{KEY}"\n', keys_mode=0o644)
    msg = error_of(cfg)
    assert msg == (
        f"{cfg}: keys_file: expected mode 0600 (no group or other permissions), "
        f"found {tmp_path / 'keys.toml'} has mode 0644"
    )
    os.chmod(tmp_path / "keys.toml", 0o640)
    assert "has mode 0640" in error_of(cfg)
    os.chmod(tmp_path / "keys.toml", 0o600)
    assert load_config(cfg, credentials_dir=None).meters[0].key is not None


def test_keys_file_of_another_owner_is_refused(tmp_path: Path) -> None:
    text = 'keys_file = "keys.toml"\n[[meters]]\nid = "76348799"\n'
    cfg = write(tmp_path, text, keys=f'[keys]\n76348799 = "{KEY}"\n')
    owner = (tmp_path / "keys.toml").stat().st_uid
    if owner == 0:
        os.chown(tmp_path / "keys.toml", 4242, -1)
    msg = error_of(cfg, service_uid=4343)
    assert "keys_file: expected owner root or the service user (uid 4343), found" in msg
    assert "owned by uid 4242" in msg or owner != 0


def test_missing_keys_file(tmp_path: Path) -> None:
    cfg = write(tmp_path, 'keys_file = "nope.toml"\n')
    msg = error_of(cfg)
    found = f"{tmp_path / 'nope.toml'}: No such file or directory"
    assert msg == f"{cfg}: keys_file: expected a readable keys file, found {found}"


def test_bad_key_in_keys_file_names_that_file(tmp_path: Path) -> None:
    cfg = write(tmp_path, 'keys_file = "keys.toml"\n', keys='[keys]\n76348799 = "ABCD"\n')
    assert (
        error_of(cfg)
        == f"{tmp_path / 'keys.toml'}: keys.76348799: expected 32 hex digits (AES-128) "
        "or 16 (DES), found 4 characters"
    )


def test_systemd_credential_wins_over_keys_file(tmp_path: Path) -> None:
    text = 'keys_file = "keys.toml"\n[[meters]]\nid = "76348799"\n'
    cfg = write(tmp_path, text, keys='[keys]\n76348799 = "000102030405060708090A0B0C0D0E0F"\n')
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "keys.toml").write_text(f'[keys]\n76348799 = "{KEY}"\n')
    os.chmod(creds / "keys.toml", 0o400)
    c = load_config(cfg, credentials_dir=str(creds))
    assert c.meters[0].key is not None and c.meters[0].key.raw == bytes.fromhex(KEY)
    # credential alone, no keys_file, found through $CREDENTIALS_DIRECTORY
    cfg2 = write(tmp_path, '[[meters]]\nid = "76348799"\n')
    os.environ["CREDENTIALS_DIRECTORY"] = str(creds)
    try:
        assert load_config(cfg2).meters[0].key is not None
    finally:
        del os.environ["CREDENTIALS_DIRECTORY"]


def test_unknown_radio_kind(tmp_path: Path) -> None:
    cfg = write(tmp_path, '[radio]\nkind = "im999"\n')
    assert error_of(cfg) == (
        f"{cfg}: radio.kind: expected one of 'im871a', 'iu891a', 'amb8465', 'cul', 'rtlwmbus', "
        "'tcp', 'replay', found 'im999'"
    )


def test_bad_toml(tmp_path: Path) -> None:
    cfg = write(tmp_path, "[radio\nkind = 1\n")
    msg = error_of(cfg)
    assert msg.startswith(f"{cfg}: expected valid TOML, found a syntax error: ")
    assert "line 1" in msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[radio]\nmode = "c2"\n', "radio.mode: expected one of 'c1', 't1', 'c1+t1', found 'c2'"),
        ("[dedup]\nwindow_s = -1\n", "dedup.window_s: expected a value >= 0, found -1"),
        (
            '[publish]\nheartbeat_s = "15m"\n',
            "publish.heartbeat_s: expected a number, found a string '15m'",
        ),
        (
            "[radio]\ndevise = 1\n",
            "radio.devise: expected one of c1_frame, device, kind, mode, name, "
            "read_interval_ms, silence_reset_s, found an unknown key",
        ),
        (
            "[radio]\nread_interval_ms = 2000\n",
            "radio.read_interval_ms: expected a value <= 1000, found 2000",
        ),
        (
            "[radio]\nread_interval_ms = 0.05\n",
            "radio.read_interval_ms: expected an integer, found a number 0.05",
        ),
        (
            '[[meters]]\nid = "7634879"\nkey = "' + KEY + '"\n',
            "meters[0].id: expected 8 hex digits, found a string '7634879'",
        ),
        (
            '[[meters]]\nname = "x"\n',
            "meters[0].id: expected a string of 8 hex digits, found nothing (the key is missing)",
        ),
        ("[mqtt]\nport = 70000\n", "mqtt.port: expected a value <= 65535, found 70000"),
        (
            "[mqtt]\ncommit_window_ms = 5000\n",
            "mqtt.commit_window_ms: expected a value <= 1000, found 5000",
        ),
        (
            "[mqtt]\ncommit_window_ms = -1\n",
            "mqtt.commit_window_ms: expected a value >= 0, found -1",
        ),
        (
            "[mqtt]\ncommit_window_ms = 2.5\n",
            "mqtt.commit_window_ms: expected an integer, found a number 2.5",
        ),
        (
            '[ble]\nsecurity = "none"\n',
            "ble.security: expected one of 'authenticated', 'encrypted', found 'none'",
        ),
        ("meters = 3\n", "meters: expected an array of tables ([[...]]), found an integer 3"),
        (
            "[gateway]\nid = true\n",
            "gateway.id: expected a string of letters, digits, '_', '.', '-' (1-64), "
            "found a boolean True",
        ),
    ],
)
def test_other_errors(tmp_path: Path, text: str, expected: str) -> None:
    cfg = write(tmp_path, text)
    assert error_of(cfg) == f"{cfg}: {expected}"


def test_duplicate_meter(tmp_path: Path) -> None:
    m = f'[[meters]]\nid = "76348799"\nkey = "{KEY}"\n'
    cfg = write(tmp_path, m + m.replace("76348799", "76348799".upper()))
    assert (
        error_of(cfg)
        == f"{cfg}: meters[1].id: expected a meter id not listed before, found 76348799 again"
    )


def test_missing_file(tmp_path: Path) -> None:
    assert (
        error_of(tmp_path / "none.toml")
        == f"{tmp_path / 'none.toml'}: expected a config file, found no such file"
    )


def test_unknown_driver(tmp_path: Path) -> None:
    cfg = write(tmp_path, f'[[meters]]\nid = "76348799"\ndriver = "mc99"\nkey = "{KEY}"\n')
    msg = error_of(cfg)
    assert msg.startswith(f"{cfg}: meters[0].driver: expected one of ")
    assert "'auto'" in msg
    assert "'kamwater'" in msg and msg.endswith("found 'mc99'")


def test_static_fields_of_a_meter(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        f'[[meters]]\nid = "76348799"\nkey = "{KEY}"\n\n'
        '[meters.fields]\napartment = "3B"\nfloor = 2\nshared = true\n',
    )
    config = load_config(cfg, credentials_dir=None)
    assert config.meters[0].fields == (("apartment", "3B"), ("floor", 2), ("shared", True))


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ('total_m3 = "x"', "fields.total_m3", None),  # allowed: never replaces the decoded one
        ('id = "x"', "fields.id", "a field name"),
        ('Apartment = "3B"', "fields.Apartment", "a field name"),
        ("rooms = [1, 2]", "fields.rooms", "a string, number or boolean"),
    ],
)
def test_static_field_mistakes_name_the_key(
    tmp_path: Path, line: str, key: str, expected: str | None
) -> None:
    cfg = write(
        tmp_path, f'[[meters]]\nid = "76348799"\nkey = "{KEY}"\n\n[meters.fields]\n{line}\n'
    )
    if expected is None:  # allowed: the decoded value wins in the reading
        assert load_config(cfg, credentials_dir=None).meters[0].fields == (("total_m3", "x"),)
        return
    msg = error_of(cfg)
    assert msg.startswith(f"{cfg}: meters[0].{key}: expected {expected}")


def test_reserved_field_names_are_the_readings_own_keys() -> None:
    from gatewayd.config import load
    from gatewayd.meters import model

    assert load.READING_KEYS == model.READING_KEYS
