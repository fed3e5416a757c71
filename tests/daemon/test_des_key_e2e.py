"""A DES-keyed meter through the running daemon: keys.toml holds the published ActisLink key
(16 hex digits) beside an AES-128 one; the published telegram through the pty iM871A gives
wmbusmeters' published values, and an AES telegram for a meter whose entry is a DES key is one
clear per-meter warning, the daemon going on. No key's digits reach the log."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewayd.demo.sim import ImstSimulator
from tests.daemon.harness import KEY, METER, DaemonProcess, mc21
from tests.test_des_keys import DES_HEX, EXPECTED, TELEGRAM, published

ACTIS = "00000001"  # the telegram's link-layer address (the vector names it ANYID)


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[ImstSimulator]:
    async with ImstSimulator(link=tmp_path / "ttyWMBUS", rate=20) as s:
        yield s


def write_site(tmp: Path) -> Path:
    keys = tmp / "keys.toml"
    keys.write_text(f'[keys]\n{ACTIS} = "{DES_HEX}"\n{METER} = "{DES_HEX}"\n')
    os.chmod(keys, 0o600)
    cfg = tmp / "config.toml"
    cfg.write_text(
        f"""keys_file = "keys.toml"

[gateway]
id = "test-gw"
state_dir = "{tmp / "state"}"

[radio]
kind = "im871a"
device = "{tmp / "ttyWMBUS"}"
mode = "c1"

[[meters]]
id = "{ACTIS}"
name = "garden"

[[meters]]
id = "{METER}"
name = "kitchen"

[stdout]
enabled = true

[log]
level = "debug"
"""
    )
    return cfg


async def test_published_actislink_telegram_with_a_des_key_from_keys_toml(
    tmp_path: Path, sim: ImstSimulator
) -> None:
    d = await DaemonProcess.start(write_site(tmp_path))
    try:
        await d.wait_log("radio", timeout=20)
        # the kitchen meter's entry is a DES key, its telegram AES-128: refused, per meter
        sim.send(mc21(1, 100_000, key=KEY), bytes.fromhex(TELEGRAM))
        await d.wait_readings(1, timeout=20)
        await d.wait_log(f"meter {METER} (kitchen): the configured key does not decrypt")
        rc = await d.stop()
    finally:
        await d.kill()
    assert rc == 0
    assert [published(r) for r in d.readings] == [EXPECTED | {"id": ACTIS}]
    assert d.readings[0]["name"] == "garden"
    warning = [ln for ln in d.stderr if f"WARNING gatewayd.daemon.pipeline: meter {METER}" in ln]
    assert len(warning) == 1 and "is a DES key" in warning[0] and "AES-128" in warning[0]
    log = d.log()
    assert DES_HEX.lower() not in log.lower() and KEY.hex() not in log.lower()
