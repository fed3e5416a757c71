"""Modules that would leave the gateway deaf are refused with a reason; module options reach
the module. Each over the real serial path, against the byte-exact simulators."""

from __future__ import annotations

import pytest

from gatewayd.demo.sim import CulSimulator, ImstSimulator
from gatewayd.radios.base import RadioConfigError
from gatewayd.radios.im871a import HciMessage
from gatewayd.radios.registry import open_radio
from gatewayd.radios.supervisor import RadioState
from tests.radios.helpers import Consumer, wait_until
from tests.radios.streams import K1, K2


async def test_im170a_is_refused_as_a_169_mhz_module() -> None:
    async with ImstSimulator([K1], module_type=0x36) as sim:
        sup = open_radio("im871a", sim.device_path, "c1")
        with pytest.raises(RadioConfigError, match=r"iM170A, a 169 MHz module"):
            await anext(sup.frames())
        assert sup.state is RadioState.STOPPED
        assert sim.mode is None  # never given the 868 MHz link-mode codes


async def test_culfw_without_c_mode_is_refused_naming_its_reply() -> None:
    async with CulSimulator([K1], c_mode=False) as sim:
        sup = open_radio("cul", sim.device_path, "c1")
        with pytest.raises(RadioConfigError, match=r"answered 'brc' with 'OFF'.*no C mode"):
            await anext(sup.frames())
        assert sup.state is RadioState.STOPPED


async def test_culfw_without_c_mode_still_does_t1() -> None:
    async with CulSimulator([K1], rate=0, c_mode=False) as sim:
        consumer = Consumer(open_radio("cul", sim.device_path, "t1"))
        try:
            (frame,) = await consumer.take(1)
        finally:
            await consumer.close()
    assert (frame.frame, sim.mode) == (K1, "t1")


@pytest.mark.parametrize(("c1_frame", "code", "sim_mode"), [("b", 7, "c1"), ("a", 6, "c1 frame a")])
async def test_im871a_c1_frame_setting(c1_frame: str, code: int, sim_mode: str) -> None:
    async with ImstSimulator([K1], rate=0) as sim:
        consumer = Consumer(open_radio("im871a", sim.device_path, "c1", c1_frame=c1_frame))
        try:
            await consumer.take(1)
        finally:
            await consumer.close()
    # SET_CONFIG A5 01 03 06 | 00 02 <link mode> 30 01 00
    assert bytes.fromhex("A501030600 02") + bytes([code]) + bytes.fromhex("300100") in sim.commands
    assert sim.mode == sim_mode


def test_im871a_c1_frame_setting_is_checked_early() -> None:
    with pytest.raises(RadioConfigError, match="c1_frame must be 'a' or 'b'"):
        open_radio("im871a", "/dev/ttyUSB0", "c1", c1_frame="c")


async def test_im871a_sending_crcs_has_crc_less_messages_rejected() -> None:
    async with ImstSimulator([K1], rate=0, crc=True) as sim:
        sup = open_radio("im871a", sim.device_path, "c1")
        consumer = Consumer(sup)
        try:
            (first,) = await consumer.take(1)
            # a CRC-less data indication, then a good one: the first is a false start now
            sim.inject(HciMessage(2, 3, K2[1:], rssi_raw=0x80).to_bytes())
            sim.inject(HciMessage(2, 3, K1[1:], rssi_raw=0x80, crc=True).to_bytes())
            (second,) = await consumer.take(1)
            await wait_until(lambda: sup.counters["missing_crc"] >= 1)
        finally:
            await consumer.close()
    assert (first.frame, second.frame) == (K1, K1)
