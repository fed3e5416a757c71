"""Static checks of deploy/: shellcheck on the scripts, the shape of every udev rule."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import REPO

SCRIPTS = ["deploy/install.sh", "deploy/uninstall.sh", "deploy/gatewayd-credentials"]
RULES = REPO / "deploy" / "99-gatewayd-wmbus.rules"
# One udev key: NAME or NAME{attr}, an operator, a double-quoted value.
_PAIR = re.compile(r'([A-Z_]+(?:\{[A-Za-z0-9_.-]+\})?)(==|!=|\+=|-=|:=|=)"([^"]*)"')
# USB IDs of the radios' bridge chips (the comments in the rules file name each chip).
RADIO_USB_IDS = {
    ("10c4", "ea60"),  # iM871A-USB, CP210x
    ("10c4", "87ed"),  # IMST USB-Stick for Smart Meter (rebranded iM871A)
    ("0403", "6001"),  # AMB8465-M, FTDI FT232R
    ("1a86", "7523"),  # nanoCUL, CH340
    ("03eb", "204b"),  # CUL, LUFA CDC
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_shellcheck_is_clean(script: str) -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: bash dev.sh test installs it (TEST_APT_PACKAGES)"
    done = subprocess.run(
        [shellcheck, "--severity=style", str(REPO / script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def _rules() -> list[dict[str, tuple[str, str]]]:
    out = []
    for line in RULES.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pairs = [p.strip() for p in line.split(", ")]
        parsed = {}
        for pair in pairs:
            m = _PAIR.fullmatch(pair)
            assert m, f"not a udev key/operator/value: {pair!r} in {line!r}"
            parsed[m.group(1)] = (m.group(2), m.group(3))
        out.append(parsed)
    return out


def test_every_rule_names_the_radio_wmbus0_for_dialout() -> None:
    rules = _rules()
    assert rules
    for rule in rules:
        assert rule["SUBSYSTEM"] == ("==", "tty")
        assert rule["SYMLINK"] == ("+=", "wmbus0")
        assert rule["GROUP"] == ("=", "dialout")
        assert rule["MODE"] == ("=", "0660")
    ids = {(r["ATTRS{idVendor}"][1], r["ATTRS{idProduct}"][1]) for r in rules}
    assert ids == RADIO_USB_IDS
