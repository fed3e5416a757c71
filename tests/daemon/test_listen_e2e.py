"""`gatewayd listen` beside a running `gatewayd run`: the daemon (a subprocess on a pty-simulated
iM871A) serves its frames on its listen socket, `gatewayd listen --config` (another subprocess)
shows them with the key results, driver and value, and its summary on Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import signal
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewayd.demo.sim import ImstSimulator
from tests.daemon.harness import KEY, METER, OTHER_KEY, DaemonProcess, mc21, write_config
from tests.daemon.test_run_e2e import sent
from tests.radios.test_listen import _gatewayd

WRONG_KEYED = "55555555"  # configured with KEY, sends with OTHER_KEY
STRANGER = "99999999"  # not configured


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[ImstSimulator]:
    async with ImstSimulator(link=tmp_path / "ttyWMBUS", rate=20) as s:
        yield s


def _config(tmp_path: Path) -> Path:
    extra = f'\n[[meters]]\nid = "{WRONG_KEYED}"\nname = "hall"\nkey = "{KEY.hex()}"\n'
    return write_config(tmp_path, extra=extra)


async def _listen(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *_gatewayd(),
        "listen",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_listen_beside_the_daemon(tmp_path: Path, sim: ImstSimulator) -> None:
    cfg = _config(tmp_path)
    d = await DaemonProcess.start(cfg, env={"RUNTIME_DIRECTORY": ""})  # not under a unit
    listen = None
    try:
        await d.wait_log("listen socket")
        sock = tmp_path / "state" / "listen.sock"
        assert stat.S_IMODE(sock.stat().st_mode) == 0o660
        listen = await _listen("--config", str(cfg), "--json")
        assert listen.stdout is not None and listen.stderr is not None
        await d.wait_log("listen: client")
        first = mc21(1, 123_456)
        copy = bytearray(first)
        copy[11] |= 0x10  # ELL CC hop bit: a repeater passed it on
        stranger = mc21(1, 5, meter=STRANGER, key=OTHER_KEY)
        wrong = mc21(1, 7, meter=WRONG_KEYED, key=OTHER_KEY)
        await sent(sim, first, first, bytes(copy), stranger, wrong)
        async with asyncio.timeout(20):
            lines = [json.loads(await listen.stdout.readline()) for _ in range(5)]
        await d.wait_readings(1)  # the daemon's own path carried on (its dedup drops copies)
        listen.send_signal(signal.SIGINT)
        async with asyncio.timeout(15):
            rest, err = await listen.communicate()
        assert listen.returncode == 0, err.decode()
    finally:
        if listen is not None and listen.returncode is None:
            listen.kill()
            await listen.wait()
        rc = await d.stop()
    assert rc == 0
    assert not sock.exists()  # removed when the daemon stops
    assert [(x["id"], x["key"], x["repeated"]) for x in lines] == [
        (METER, "ok", False),
        (METER, "ok", False),  # a copy the daemon drops as a duplicate is still heard
        (METER, "ok", True),
        (STRANGER, "no_key", False),
        (WRONG_KEYED, "wrong_key", False),
    ]
    assert lines[0]["value"] == {"field": "total_m3", "value": 123.456, "unit": "m3"}
    assert (lines[0]["driver"], lines[0]["name"], lines[0]["rssi_dbm"]) == (
        "kamwater",
        "kitchen",
        d.readings[0]["rssi_dbm"],
    )
    assert lines[0]["hex"] == first.hex().upper()
    summaries = {s["id"]: s for s in (json.loads(x)["summary"] for x in rest.decode().splitlines())}
    assert set(summaries) == {METER, STRANGER, WRONG_KEYED}
    assert (summaries[METER]["frames"], summaries[METER]["repeated"]) == (3, 1)
    assert summaries[WRONG_KEYED]["key"] == "wrong_key"
    everything = (json.dumps(lines) + rest.decode() + err.decode()).upper()
    assert KEY.hex().upper() not in everything and OTHER_KEY.hex().upper() not in everything


async def test_listen_without_a_daemon_says_so_in_one_line(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    for args in (["--config", str(cfg)], ["--socket", str(tmp_path / "none.sock")]):
        proc = await _listen(*args)
        async with asyncio.timeout(20):
            out, err = await proc.communicate()
        lines = err.decode().splitlines()
        assert proc.returncode == 1 and out == b""
        assert len(lines) == 1, lines
        assert "no running gatewayd service" in lines[0] and "--radio" in lines[0]
