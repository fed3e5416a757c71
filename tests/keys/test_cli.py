"""`gatewayd keys import-kem` end to end through the real CLI dispatcher."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from gatewayd.cli import main
from gatewayd.config.load import load_config
from tests.keys import kemfiles as K

PASSWORD = "87654321"
EXPECTED = {
    "76348799": "28F64A24988064A079AA2C807D6102AE",
    "12345678": "000102030405060708090A0B0C0D0E0F",
    "05551234": "F0E1D2C3B4A5968778695A4B3C2D1E0F",
}


@pytest.fixture
def kem_path(tmp_path: Path) -> Path:
    path = tmp_path / "76348799.zip.kem"
    path.write_bytes(K.zipped({"76348799.kem": K.kem_file(K.kem1_xml(), PASSWORD)}))
    return path


def _no_keys(text: str) -> None:
    for hexkey in EXPECTED.values():
        assert hexkey.lower() not in text.lower()


def test_prints_keys_toml_entries(kem_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "import-kem", str(kem_path), "--password", PASSWORD]) == 0
    out, err = capsys.readouterr()
    assert tomllib.loads(out) == {"keys": EXPECTED}
    assert '76348799 = "28F64A24988064A079AA2C807D6102AE"  # MC21' in out.splitlines()
    _no_keys(err)


def test_password_from_file_and_environment(
    kem_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    assert main(["keys", "import-kem", str(kem_path), "--password-file", str(pw)]) == 0
    assert tomllib.loads(capsys.readouterr().out)["keys"] == EXPECTED
    monkeypatch.setenv("GATEWAYD_KEM_PASSWORD", PASSWORD)
    assert main(["keys", "import-kem", str(kem_path)]) == 0
    assert tomllib.loads(capsys.readouterr().out)["keys"] == EXPECTED


def test_no_password_and_no_terminal_is_a_usage_error(
    kem_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEWAYD_KEM_PASSWORD", raising=False)
    assert main(["keys", "import-kem", str(kem_path)]) == 2  # pytest's stdin is no tty
    assert "no password" in capsys.readouterr().err


def test_wrong_password_exits_2_with_a_clear_message(
    kem_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "import-kem", str(kem_path), "--password", "00000000"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "76348799.zip.kem" in err
    assert "wrong password" in err
    _no_keys(err)


def test_truncated_file_exits_1(kem_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = kem_path.read_bytes()
    kem_path.write_bytes(data[: len(data) * 2 // 3])
    assert main(["keys", "import-kem", str(kem_path), "--password", PASSWORD]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "damaged zip" in err


def test_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "import-kem", str(tmp_path / "nope.kem"), "--password", "x"]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_merge_creates_a_0600_keys_file(
    kem_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "keys.toml"
    assert (
        main(["keys", "import-kem", str(kem_path), "--password", PASSWORD, "--merge", str(target)])
        == 0
    )
    out, err = capsys.readouterr()
    assert out == ""
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert tomllib.loads(target.read_text()) == {"keys": EXPECTED}
    assert "3 added, 0 updated, 0 unchanged, 3 in all" in err
    _no_keys(err)


def test_merge_keeps_other_entries_and_replaces_changed_keys(
    kem_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "keys.toml"
    target.write_text(
        "[keys]\n"
        '99999999 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"\n'
        '76348799 = "28f64a24988064a079aa2c807d6102ae"\n'  # same key, lower case
        '12345678 = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"\n'  # replaced by the KEM file
    )
    os.chmod(target, 0o600)
    assert (
        main(["keys", "import-kem", str(kem_path), "--password", PASSWORD, "--merge", str(target)])
        == 0
    )
    err = capsys.readouterr().err
    merged = tomllib.loads(target.read_text())["keys"]
    assert merged == {**EXPECTED, "99999999": "A" * 32}
    assert "1 added, 1 updated, 1 unchanged, 4 in all" in err
    assert "added: 05551234" in err
    assert "updated: 12345678" in err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_merge_tightens_a_loose_file_and_warns(
    kem_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "keys.toml"
    target.write_text("[keys]\n")
    os.chmod(target, 0o644)
    assert (
        main(["keys", "import-kem", str(kem_path), "--password", PASSWORD, "--merge", str(target)])
        == 0
    )
    assert "was mode 0644" in capsys.readouterr().err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_merge_refuses_a_file_that_is_not_only_keys(
    kem_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "keys.toml"
    original = '[keys]\n[gateway]\nid = "x"\n'
    target.write_text(original)
    assert (
        main(["keys", "import-kem", str(kem_path), "--password", PASSWORD, "--merge", str(target)])
        == 2
    )
    assert "gateway: expected only a [keys] table in a keys file" in capsys.readouterr().err
    assert target.read_text() == original


def test_merge_refuses_a_bad_existing_key_without_showing_it(
    kem_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "keys.toml"
    target.write_text('[keys]\n11111111 = "0123456789ABCDEF0123456789ABCDE"\n')  # 31 digits
    assert (
        main(["keys", "import-kem", str(kem_path), "--password", PASSWORD, "--merge", str(target)])
        == 2
    )
    err = capsys.readouterr().err
    assert "keys.11111111: expected 32 hex digits" in err
    assert "0123456789ABCDEF" not in err


def test_keys_without_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys"]) == 2
    assert "import-kem" in capsys.readouterr().err


def test_merged_file_is_what_the_daemon_reads_as_its_credential(
    kem_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gatewayd.config.load import load_config

    creds = tmp_path / "credentials"
    creds.mkdir()
    args = ["keys", "import-kem", str(kem_path), "--password", PASSWORD]
    assert main([*args, "--merge", str(creds / "keys.toml")]) == 0
    config = tmp_path / "config.toml"
    config.write_text('[gateway]\nid = "t"\n\n[[meters]]\nid = "76348799"\nname = "kitchen"\n')
    loaded = load_config(config, credentials_dir=str(creds))
    assert loaded.keys() == {"76348799": bytes.fromhex(EXPECTED["76348799"])}


def test_meters_stubs_beside_the_keys_load_as_a_config(
    kem_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "import-kem", str(kem_path), "--password", PASSWORD, "--meters"]) == 0
    out, err = capsys.readouterr()
    both = tomllib.loads(out)
    assert both["keys"] == EXPECTED
    assert [(m["id"], m["driver"]) for m in both["meters"]] == [
        ("05551234", "auto"),  # KWM2210: not a type the stubs know; auto decides
        ("12345678", "kamwater"),  # MC21: MULTICAL 21
        ("76348799", "kamwater"),
    ]
    assert all(set(m) == {"id", "name", "driver"} for m in both["meters"])  # no key in a stub
    # With --merge the keys go to the file and stdout holds only the stubs: no key at all.
    keys = tmp_path / "keys.toml"
    argv = ["keys", "import-kem", str(kem_path), "--password", PASSWORD, "--merge", str(keys)]
    assert main([*argv, "--meters"]) == 0
    out, err = capsys.readouterr()
    _no_keys(out + err)
    # The stubs are a valid [[meters]] list for the daemon's loader, keys found by id.
    config = tmp_path / "config.toml"
    config.write_text(f'keys_file = "{keys}"\n{out}')
    loaded = load_config(config, credentials_dir=None)
    assert {m.id: m.key.raw.hex().upper() for m in loaded.meters if m.key} == EXPECTED
    assert {m.id: m.driver for m in loaded.meters}["76348799"] == "kamwater"
