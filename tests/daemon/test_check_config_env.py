"""check-config proves the config can run here: the state dir is writable, an existing outbox
is a database, the radio device is a character device; every such problem is reported at once.
And the MQTT password / TLS key come from root-only files beside keys.toml."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from gatewayd.config.load import load_config
from gatewayd.daemon.app import build_sinks
from tests.daemon.test_cli_config import gatewayd


def write(tmp: Path, *, state: Path, device: str, extra: str = "") -> Path:
    cfg = tmp / "config.toml"
    cfg.write_text(
        f'[gateway]\nid = "t"\nstate_dir = "{state}"\n'
        f'[radio]\nkind = "im871a"\ndevice = "{device}"\n{extra}'
    )
    return cfg


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    regular = tmp_path / "not-a-tty"
    regular.write_text("")
    done = gatewayd(
        "check-config", "--config", str(write(tmp_path, state=blocker / "s", device=str(regular)))
    )
    assert done.returncode == 2
    assert "is not a writable directory" in done.stderr
    assert f"{regular} is not a character device" in done.stderr
    assert "2 error(s)" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_device_is_a_warning_and_a_damaged_outbox_is_named(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "mqtt-outbox.sqlite3").write_bytes(os.urandom(2048))
    cfg = write(
        tmp_path, state=state, device=str(tmp_path / "absent"), extra='[mqtt]\nhost = "127.0.0.1"\n'
    )
    done = gatewayd("check-config", "--config", str(cfg))
    assert done.returncode == 0, done.stderr
    assert "does not exist (radio unplugged?)" in done.stderr
    assert "MQTT outbox" in done.stderr and "is damaged" in done.stderr
    assert ": ok:" in done.stdout


def test_a_char_device_passes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    done = gatewayd(
        "check-config", "--config", str(write(tmp_path, state=state, device="/dev/null"))
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert state.is_dir()


def test_mqtt_password_and_client_key_from_files_beside_the_keys(tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "mqtt-password").write_text("s3cret-horse\n")
    (creds / "mqtt-client.key").write_text("-----BEGIN PRIVATE KEY-----\n")
    cfg = write(
        tmp_path,
        state=tmp_path / "state",
        device="/dev/null",
        extra='[mqtt]\nusername = "gw"\ntls = true\ncert_file = "client.crt"\n',
    )
    config = load_config(cfg, credentials_dir=str(creds))
    assert config.mqtt is not None and config.mqtt.password is not None
    assert config.mqtt.password.value == "s3cret-horse"
    assert config.mqtt.key_file == creds / "mqtt-client.key"
    # without the files: no password, no key
    bare = load_config(cfg, credentials_dir=str(tmp_path / "none"))
    assert bare.mqtt is not None and bare.mqtt.password is None and bare.mqtt.key_file is None


@pytest.mark.parametrize(
    ("host", "tls", "warned"),
    [
        ("192.0.2.7", False, True),
        ("127.0.0.1", False, False),
        ("localhost", False, False),
        ("192.0.2.7", True, False),
    ],
)
def test_one_warning_for_a_password_without_tls_to_another_host(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, host: str, tls: bool, warned: bool
) -> None:
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "mqtt-password").write_text("s3cret-horse\n")
    cfg = write(
        tmp_path,
        state=tmp_path / "state",
        device="/dev/null",
        extra=f'[mqtt]\nhost = "{host}"\ntls = {str(tls).lower()}\n',
    )
    config = load_config(cfg, credentials_dir=str(creds))
    with caplog.at_level(logging.WARNING):
        build_sinks(config, journal=False, stats=dict)
    hits = [r for r in caplog.records if "without TLS" in r.getMessage()]
    assert len(hits) == (1 if warned else 0)
    assert all("s3cret" not in r.getMessage() for r in caplog.records)
