"""Bad configs: `gatewayd run` and `gatewayd check-config` each exit 2 with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.daemon.harness import KEY, METER

GOOD_KEY = KEY.hex().upper()
HEX_KEY = "32 hex digits (AES-128) or 16 (DES)"  # what a key must be


def gatewayd(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    return subprocess.run(
        [sys.executable, "-m", "gatewayd", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )


def base(tmp: Path) -> str:
    return (
        f'[gateway]\nid = "t"\nstate_dir = "{tmp / "state"}"\n'
        f'[radio]\nkind = "im871a"\ndevice = "{tmp / "tty"}"\n'
    )


CASES = {
    "missing key": (
        '[[meters]]\nid = "{meter}"\n',
        None,
        "meters[0].key: expected a key (key = 32 hex digits, "
        "or 16 for DES, or an entry {meter} in [keys]",
    ),
    "malformed hex key": (
        '[[meters]]\nid = "{meter}"\nkey = "{key30}"\n',
        None,
        "meters[0].key: expected 32 hex digits (AES-128) or 16 (DES), found 30 characters",
    ),
    "world-readable keys file": (
        '[[meters]]\nid = "{meter}"\n',
        0o644,
        "keys_file: expected mode 0600 (no group or other permissions), found {tmp}/keys.toml "
        "has mode 0644",
    ),
    "unknown radio kind": (
        '[radio]\nkind = "im9000"\n',
        None,
        "radio.kind: expected one of 'im871a', 'iu891a', 'amb8465', 'cul', 'rtlwmbus', 'tcp', "
        "'replay', found 'im9000'",
    ),
    "bad TOML": ("[[meters]\nid = 1\n", None, "expected valid TOML, found a syntax error: "),
}


@pytest.mark.parametrize("command", ["run", "check-config"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_exits_2_with_one_clear_line(tmp_path: Path, command: str, case: str) -> None:
    body, keys_mode, expected = CASES[case]
    values = {"meter": METER, "key30": GOOD_KEY[:30], "tmp": str(tmp_path)}
    text = body.format(**values)
    if case == "unknown radio kind":
        text = f'[gateway]\nstate_dir = "{tmp_path / "state"}"\n' + text
    elif case != "bad TOML":
        text = base(tmp_path) + text
    if keys_mode is not None:
        text = 'keys_file = "keys.toml"\n' + text
    cfg = tmp_path / "config.toml"
    cfg.write_text(text)
    if keys_mode is not None:
        (tmp_path / "keys.toml").write_text(f'[keys]\n{METER} = "{GOOD_KEY}"\n')
        os.chmod(tmp_path / "keys.toml", keys_mode)
    p = gatewayd(command, "--config", str(cfg))
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith(f"gatewayd: {cfg}: ")
    assert expected.format(**values) in lines[0]
    assert GOOD_KEY not in p.stderr and GOOD_KEY[:30] not in p.stderr
    assert not (tmp_path / "state").exists()  # nothing was started


def test_check_config_ok(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(base(tmp_path) + f'[[meters]]\nid = "{METER}"\nkey = "{GOOD_KEY}"\n')
    p = gatewayd("check-config", "--config", str(cfg))
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == (
        f"{cfg}: ok: gateway t, radio im871a on {tmp_path / 'tty'} (c1), 1 meters (1 with keys), "
        f"sinks: log only, state in {tmp_path / 'state'}"
    )
    assert GOOD_KEY not in p.stdout


def test_repo_example_config_is_valid(repo_root: Path) -> None:
    p = gatewayd("check-config", "--config", str(repo_root / "config.toml"))
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("command", ["run", "check-config"])
def test_errors_in_three_sections_are_all_reported_at_once(tmp_path: Path, command: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[gateway]\nid = "t"\nstate_dir = "{tmp_path / "state"}"\n'
        '[radio]\nkind = "im9000"\n'
        f'[[meters]]\nid = "{METER}"\nkey = "{GOOD_KEY[:30]}"\n'
        "[mqtt]\nport = 70000\n"
    )
    p = gatewayd(command, "--config", str(cfg))
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert lines[:3] == [
        f"gatewayd: {cfg}: radio.kind: expected one of 'im871a', 'iu891a', 'amb8465', 'cul', "
        "'rtlwmbus', 'tcp', 'replay', found 'im9000'",
        f"gatewayd: {cfg}: meters[0].key: expected 32 hex digits (AES-128) "
        "or 16 (DES), found 30 characters",
        f"gatewayd: {cfg}: mqtt.port: expected a value <= 65535, found 70000",
    ]
    assert lines[3:] == [f"{cfg}: 3 error(s)"]
    assert GOOD_KEY[:30] not in p.stderr
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("command", ["run", "check-config"])
def test_two_bad_meters_and_a_bad_keys_entry_are_all_reported(tmp_path: Path, command: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        'keys_file = "keys.toml"\n'
        + base(tmp_path)
        + '[[meters]]\nid = "1234567"\n'
        + f'[[meters]]\nid = "{METER}"\nkey = "{GOOD_KEY[:30]}"\n'
        + '[[meters]]\nid = "22223333"\n'  # its keys.toml entry is the wrong one
    )
    keys = tmp_path / "keys.toml"
    bad_entry = GOOD_KEY[:31] + "Z"
    keys.write_text(f'[keys]\n22223333 = "{bad_entry}"\n')
    os.chmod(keys, 0o600)
    p = gatewayd(command, "--config", str(cfg))
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    assert p.stderr.splitlines() == [
        f"gatewayd: {keys}: keys.22223333: expected {HEX_KEY}, found a non-hex character "
        "at position 32",
        f"gatewayd: {cfg}: meters[0].id: expected 8 hex digits, found a string '1234567'",
        f"gatewayd: {cfg}: meters[1].key: expected {HEX_KEY}, found 30 characters",
        f"{cfg}: 3 error(s)",
    ]
    assert GOOD_KEY[:30] not in p.stderr and bad_entry not in p.stderr
    assert not (tmp_path / "state").exists()
