"""A port held by another process (the service) is reported in one line that says what to do."""

from __future__ import annotations

import asyncio

import pytest
import serial

from gatewayd.demo.sim import ImstSimulator
from gatewayd.radios.base import RadioLost
from gatewayd.radios.registry import open_radio
from tests.conftest import REPO
from tests.radios.streams import K1
from tests.radios.test_listen import _gatewayd


async def test_a_locked_port_is_named_with_what_to_do() -> None:
    async with ImstSimulator([K1]) as sim:
        holder = serial.Serial(sim.pts_path, exclusive=True)  # as the running service holds it
        try:
            sup = open_radio("im871a", sim.device_path, fail_fast=True)
            with pytest.raises(RadioLost, match=r"in use by another process.*systemctl stop"):
                await anext(sup.frames())
            proc = await asyncio.create_subprocess_exec(
                *_gatewayd(),
                "listen",
                "--radio",
                f"im871a:{sim.device_path}",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=REPO,
            )
            async with asyncio.timeout(20):
                out, err = await proc.communicate()
        finally:
            holder.close()
    lines = err.decode().splitlines()
    assert proc.returncode == 1 and out == b""
    assert len(lines) == 1, lines  # one line, not a log line and a message
    assert "in use by another process" in lines[0] and "systemctl stop gatewayd" in lines[0]
    assert "gatewayd listen, without --radio" in lines[0]  # the way that keeps the service up
