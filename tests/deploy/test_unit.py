"""systemd/gatewayd.service: systemd's own verifier and security analyser, offline.

`systemd-analyze verify` insists that ExecStart's binary exists, and /opt/gatewayd/venv is not
installed on a build machine. The test verifies a copy of the committed unit in which only that
path is replaced by an executable stub (and checks that this is the only difference). verify
exits 0 even for parse errors ("Failed to parse service type, ignoring"), so any output at all
is a failure; a deliberately broken copy proves such output is caught.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO

UNIT = REPO / "systemd" / "gatewayd.service"
EXEC_BINARY = "/opt/gatewayd/venv/bin/gatewayd"
CREDENTIALS_HELPER = "/opt/gatewayd/libexec/gatewayd-credentials"
MAX_EXPOSURE = 2.0


def _systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    assert path, "systemd-analyze is missing: bash dev.sh test installs Debian 'systemd'"
    return path


def _copy_with_stub_binary(tmp_path: Path, text: str) -> Path:
    stub = tmp_path / "gatewayd"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    copy = tmp_path / "gatewayd.service"
    text = text.replace(f"ExecStart={EXEC_BINARY} ", f"ExecStart={stub} ")
    copy.write_text(text.replace(f"=+{CREDENTIALS_HELPER}", f"=+{stub}"))
    return copy


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_systemd_analyze(), "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _directives(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_unit_verifies_without_any_output(tmp_path: Path) -> None:
    original = UNIT.read_text()
    copy = _copy_with_stub_binary(tmp_path, original)
    changed = [
        (a, b)
        for a, b in zip(original.splitlines(), copy.read_text().splitlines(), strict=True)
        if a != b
    ]
    assert len(changed) == 3
    assert changed[0][0] == f"ExecStartPre=+{CREDENTIALS_HELPER}"
    assert changed[1][0].startswith(f"ExecStart={EXEC_BINARY} run ")
    assert changed[2][0] == f"ExecReload=+{CREDENTIALS_HELPER} --reload $MAINPID"
    done = _verify(copy)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_verify_output_catches_a_broken_unit(tmp_path: Path) -> None:
    broken = UNIT.read_text().replace("Type=notify\n", "Type=notifyy\n")
    done = _verify(_copy_with_stub_binary(tmp_path, broken))
    assert "notifyy" in done.stdout + done.stderr


def test_security_exposure_is_ok() -> None:
    done = subprocess.run(
        [_systemd_analyze(), "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    m = re.search(r"Overall exposure level for gatewayd\.service: (\d+\.\d+) (\w+)", done.stdout)
    assert m, done.stdout[-500:]
    score, verdict = float(m.group(1)), m.group(2)
    print(f"systemd-analyze security: {score} {verdict}")
    assert score <= MAX_EXPOSURE
    assert verdict == "OK"


def test_unit_has_the_contracted_settings() -> None:
    d = _directives(UNIT.read_text())
    expected_single = {
        "Type": "notify",
        "Restart": "on-failure",
        "User": "gatewayd",
        "StateDirectory": "gatewayd",
        "CacheDirectory": "gatewayd",  # parsed config (toml_cache)
        "CacheDirectoryMode": "0700",
        "ConfigurationDirectory": "gatewayd",
        "RuntimeDirectory": "gatewayd",
        "RuntimeDirectoryMode": "0750",  # group gatewayd reaches listen.sock
        "Environment": "CREDENTIALS_DIRECTORY=/run/gatewayd/credentials",
        "ExecStartPre": f"+{CREDENTIALS_HELPER}",
        "ExecReload": f"+{CREDENTIALS_HELPER} --reload $MAINPID",
        "RestartPreventExitStatus": "2",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "DevicePolicy": "closed",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "CapabilityBoundingSet": "",
        "ExecStart": f"{EXEC_BINARY} run --config /etc/gatewayd/config.toml",
    }
    for key, value in expected_single.items():
        assert d.get(key) == [value], key
    assert set(d["SupplementaryGroups"][0].split()) == {"dialout", "bluetooth"}
    assert "@system-service" in d["SystemCallFilter"]
    assert {"/dev/wmbus0 rw", "char-ttyUSB rw", "char-ttyACM rw"} <= set(d["DeviceAllow"])
    # the first ttyUSB (188) and ttyACM (166) numbers, allowed even with no driver loaded yet
    numbered = {f"/dev/char/{major}:{minor} rw" for major in (188, 166) for minor in range(4)}
    assert numbered <= set(d["DeviceAllow"])
    assert int(d["WatchdogSec"][0]) > 0
