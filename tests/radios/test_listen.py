"""`gatewayd listen` as a user runs it: a subprocess against a simulated iM871A on a pty."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from gatewayd.commands.commission import Commissioner
from gatewayd.commands.listen import format_line
from gatewayd.demo.sim import ImstSimulator
from gatewayd.radios.base import LinkMode, RadioFrame
from gatewayd.wmbus.link import FrameFormat
from tests.conftest import REPO
from tests.radios.streams import K1, O1

KEY_K1 = "28F64A24988064A079AA2C807D6102AE"  # K1's key (a published test key)


def _gatewayd() -> list[str]:
    script = Path(sys.executable).parent / "gatewayd"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gatewayd"]


async def test_listen_json_against_a_simulated_im871a(tmp_path: Path) -> None:
    keys = tmp_path / "keys.toml"
    keys.write_text(f'[keys]\n76348799 = "{KEY_K1}"\n')
    keys.chmod(0o600)
    async with ImstSimulator([K1, O1], rate=20, repeat=True) as sim:
        proc = await asyncio.create_subprocess_exec(
            *_gatewayd(),
            "listen",
            "--radio",
            f"im871a:{sim.device_path}",
            "--json",
            "--keys",
            str(keys),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=REPO,
        )
        try:
            assert proc.stdout is not None and proc.stderr is not None
            async with asyncio.timeout(20):
                lines = [json.loads(await proc.stdout.readline()) for _ in range(4)]
            proc.send_signal(signal.SIGINT)
            async with asyncio.timeout(10):
                rest, err = await proc.communicate()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert KEY_K1 not in (rest + err).decode().upper()
    assert [line["id"] for line in lines] == ["76348799", "12345678"] * 2
    k1, o1 = lines[0], lines[1]
    assert k1["hex"] == K1.hex().upper() and o1["hex"] == O1.hex().upper()
    assert (k1["manufacturer"], k1["rssi_dbm"], k1["link_mode"]) == ("KAM", -32.5, "c1")
    assert (k1["ci"], k1["encrypted"], k1["key"], k1["driver"]) == ("8D", True, "ok", "kamwater")
    assert k1["value"] == {"field": "total_m3", "value": 6.408, "unit": "m3"}  # §9: 6.408 m³
    assert (o1["manufacturer"], o1["ci"], o1["encrypted"], o1["key"]) == (
        "ELS",
        "7A",
        True,
        "no_key",
    )
    summaries = [json.loads(line)["summary"] for line in rest.decode().splitlines()]
    assert [(s["id"], s["key"]) for s in summaries] == [("12345678", "no_key"), ("76348799", "ok")]
    assert all(s["frames"] >= 2 for s in summaries)
    assert KEY_K1 not in json.dumps(lines).upper()


async def test_listen_exits_1_naming_a_missing_port(tmp_path: Path) -> None:
    missing = tmp_path / "usb-Silicon_Labs_iM871A-if00-port0"
    proc = await asyncio.create_subprocess_exec(
        *_gatewayd(),
        "listen",
        "--radio",
        f"im871a:{missing}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    async with asyncio.timeout(20):
        _, err = await proc.communicate()
    assert proc.returncode == 1
    assert f"cannot open {missing}: no such device" in err.decode()


async def test_listen_exits_2_on_usage_errors() -> None:
    for argv in (
        ["--radio", "nosuch:/dev/x"],
        ["--radio", "cul:/dev/x", "--mode", "s9"],
        ["--radio", "cul:/dev/x", "--keys", "/nonexistent/keys.toml"],
        ["--mode", "t1"],  # --mode goes with --radio
    ):
        proc = await asyncio.create_subprocess_exec(
            *_gatewayd(),
            "listen",
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=REPO,
        )
        async with asyncio.timeout(20):
            _, err = await proc.communicate()
        assert proc.returncode == 2, (argv, err)


def test_human_line_has_every_column() -> None:
    frame = RadioFrame(K1, -32.5, LinkMode.C1, FrameFormat.CLEAN, 1579775113.0, "im871a:x")
    line = format_line(Commissioner({}).check(frame))
    assert line.startswith("2020-01-23T10:25:13+00:00")
    for part in (
        "76348799",
        "KAM",
        "v1B",
        "cold water",
        "-32.5 dBm",
        "c1",
        "CI 8D",
        "encrypted",
        "NO KEY",
    ):
        assert part in line, part


def test_undecodable_frame_is_still_listed() -> None:
    lying = bytes([0x30]) + K1[1:]  # L does not match the length
    frame = RadioFrame(lying, None, LinkMode.T1, FrameFormat.CLEAN, 0.0)
    s = Commissioner({}).check(frame)
    assert "id" not in s and s["error"]
    assert s["hex"] == lying.hex().upper()
    line = format_line(s)
    assert "error:" in line and "?" in line


async def test_listen_reads_the_demo_recording_with_the_demo_config() -> None:
    """The recording the project ships: every telegram listed, keys proven, copies marked."""
    recording = REPO / "gatewayd" / "data" / "demo-telegrams.txt"
    rows = [
        line.split("#", 1)
        for line in recording.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    expected_ids = [bytes.fromhex(body.split()[2])[4:8][::-1].hex() for body, _ in rows]
    copies = [comment.strip() == "repeater copy" for _, comment in rows]
    proc = await asyncio.create_subprocess_exec(
        *_gatewayd(),
        "listen",
        "--radio",
        f"replay:{recording}",
        "--rate",
        "0",
        "--config",
        str(REPO / "config.toml"),
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    objs = [json.loads(line) for line in out.decode().splitlines()]
    frames = [o for o in objs if "summary" not in o]
    assert [f["id"] for f in frames] == expected_ids
    assert [f["repeated"] for f in frames] == copies
    configured = {"20406080", "20406081", "30415263"}  # the demo's meters, keys in config.toml
    for f in frames:
        assert f["key"] == ("ok" if f["id"] in configured else "no_key"), f
    assert float(rows[0][0].split()[1]) == frames[0]["rssi_dbm"]
    summaries = {o["summary"]["id"]: o["summary"] for o in objs if "summary" in o}
    assert set(summaries) == set(expected_ids)
    for meter_id, s in summaries.items():
        assert s["frames"] == expected_ids.count(meter_id)
    # the recording's offsets give the interval: the MULTICAL 21 every 16 s, sped up 8x
    assert summaries["20406080"]["interval_s"] == pytest.approx(2.0, abs=0.01)
