"""`[health] silent_after_s` and `[[meters]] silent_after_s`: loaded, defaulted, refused with
file, key and what was expected (exit 2 from the CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewayd.config.load import load_config
from tests.daemon.test_cli_config import gatewayd
from tests.daemon.test_config import error_of, write

METERS = """
[[meters]]
id = "11223344"
encrypted = false
silent_after_s = 600

[[meters]]
id = "55667788"
encrypted = false
"""


def test_defaults_and_overrides(tmp_path: Path) -> None:
    c = load_config(write(tmp_path, METERS), credentials_dir=None)
    assert c.health.silent_after_s == 0.0  # automatic
    assert [m.silent_after_s for m in c.meters] == [600.0, None]
    c = load_config(
        write(tmp_path, "[health]\nsilent_after_s = 90\n" + METERS), credentials_dir=None
    )
    assert c.health.silent_after_s == 90.0


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[health]\nsilent_after_s = -1\n", "health.silent_after_s", "a value >= 0"),
        ('[health]\nsilent_after_s = "2m"\n', "health.silent_after_s", "a number"),
        ("[health]\nsilent_s = 5\n", "health.silent_s", "one of silent_after_s"),
        (
            '[[meters]]\nid = "11223344"\nencrypted = false\nsilent_after_s = -5\n',
            "meters[0].silent_after_s",
            "a value >= 0",
        ),
    ],
)
def test_mistakes_name_file_key_and_what_was_expected(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    cfg = write(tmp_path, text)
    message = error_of(cfg)
    assert str(cfg) in message and key in message and expected in message


def test_check_config_exits_2_on_a_bad_silent_after_s(tmp_path: Path) -> None:
    cfg = write(tmp_path, "[health]\nsilent_after_s = -1\n")
    result = gatewayd("check-config", "--config", str(cfg))
    assert result.returncode == 2
    assert "health.silent_after_s" in result.stderr + result.stdout
