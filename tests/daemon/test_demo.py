"""`gatewayd demo`: the shipped recording is what demo_data makes, every configured meter in it
decodes with the keys in config.toml, and the demo runs end to end and exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gatewayd.commands.demo import recording
from gatewayd.config.load import load_config
from gatewayd.demo.data import DEMO_KEYS, render
from gatewayd.meters.reading import build_reading
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import NoKeyError


def test_shipped_recording_is_reproducible(repo_root: Path) -> None:
    assert (repo_root / "gatewayd" / "data" / "demo-telegrams.txt").read_text() == render()


def test_recording_decodes_with_the_keys_in_config_toml(repo_root: Path) -> None:
    config = load_config(repo_root / "config.toml", credentials_dir=None)
    assert {m.id: m.key.raw.hex().upper() for m in config.meters if m.key} == DEMO_KEYS
    decoder = Decoder(keys=config.keys())
    seen: dict[str, set[str]] = {}
    leak = []
    for _, _, frame in recording():
        try:
            reading = build_reading(decoder.decode(frame)).to_dict()
        except NoKeyError as exc:
            assert exc.meter_id == "55443322"  # the neighbour's meter, on purpose
            continue
        seen.setdefault(str(reading["id"]), set()).add(str(reading["meter"]))
        if reading["id"] == "20406080":
            alarms = reading["alarms"]
            assert isinstance(alarms, dict)
            leak.append(alarms["leak"])
    # the OMS meter is a DWZ version 2 water meter: wmbusmeters (and we) read it as a WaterStar M
    assert seen == {"20406080": {"kamwater"}, "20406081": {"kamwater"}, "30415263": {"waterstarm"}}
    # the MULTICAL 21's leak alarm starts and clears again within the recording
    assert leak[0] is False and True in leak and leak[-1] is False


def _demo(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gatewayd", "demo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_demo_runs_the_pipeline_and_stops_after_seconds() -> None:
    p = _demo("--seconds", "5")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "\x1b[" not in out  # not a terminal: plain lines, no redraw
    table = out[out.index("gatewayd demo: simulated iM871A") :]
    for meter in ("20406080  kitchen (MULTICAL 21)", "20406081  garden (flowIQ 2200)"):
        assert meter in table
    assert "123.4" in table and "44.2" in table and "88.1" in table  # volumes (m3)
    assert "not yet" not in table
    assert "decoded 0," not in table and "wrong_key 0" in table and "no_key 0" in table
    assert "unconfigured meter 55443322" not in err  # INFO goes to the table, not stderr


def test_demo_exits_0_on_ctrl_c() -> None:
    p = _demo()
    deadline = time.monotonic() + 30
    assert p.stdout is not None
    while "(first)" not in (p.stdout.readline() or "(first)"):
        assert time.monotonic() < deadline
    os.kill(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert "gatewayd demo: simulated iM871A" in out
