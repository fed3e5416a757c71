"""End to end over the real serial path: simulator on a pty -> serial.py -> framer -> frames."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from gatewayd.demo.sim import AmberSimulator, CulSimulator, ImstSimulator, PtySimulator
from gatewayd.radios.base import LinkMode, RadioConfigError, RadioLost
from gatewayd.radios.registry import open_radio
from gatewayd.radios.supervisor import RadioState
from gatewayd.wmbus.link import FrameFormat
from tests.radios.helpers import Consumer, wait_state, wait_until
from tests.radios.streams import K1, K2, K2B, O1, long_frame, read_hex, read_raw

FRAMES = [K1, K2, O1, long_frame(195)]
# kind, simulator, expected dBm for the simulator's default raw RSSI, frame format reported
MODULES = [
    ("im871a", ImstSimulator, -32.5, FrameFormat.CLEAN),  # raw 0xB4
    ("amb8465", AmberSimulator, -112.0, FrameFormat.CLEAN),  # raw 0xB4
    ("cul", CulSimulator, -104.0, FrameFormat.B),  # raw 0xC4, bY lines
]
IDS = [m[0] for m in MODULES]


def _corrupt(sim: PtySimulator, frame: bytes) -> bytes:
    data = bytearray(sim.data_indication(frame))
    data[len(data) // 2] ^= 0x01  # one flipped bit: CRC, checksum or DLL CRC must catch it
    if isinstance(sim, CulSimulator):
        data[len(data) // 2] = ord("0") if data[len(data) // 2] != ord("0") else ord("1")
    return bytes(data)


@pytest.mark.parametrize(("kind", "sim_cls", "dbm", "fmt"), MODULES, ids=IDS)
async def test_configures_and_streams(
    kind: str, sim_cls: type[PtySimulator], dbm: float, fmt: FrameFormat
) -> None:
    async with sim_cls(FRAMES, rate=0) as sim:
        consumer = Consumer(open_radio(kind, sim.device_path, "c1", silence_reset_s=5))
        try:
            got = await consumer.take(len(FRAMES))
        finally:
            await consumer.close()
    assert [f.frame for f in got] == FRAMES
    assert {(f.rssi_dbm, f.link_mode, f.frame_format) for f in got} == {(dbm, LinkMode.C1, fmt)}
    assert all(f.radio == f"{kind}:{sim.device_path}" for f in got)
    assert (sim.mode, sim.config_count) == ("c1", 1)


@pytest.mark.parametrize(("kind", "sim_cls", "dbm", "fmt"), MODULES, ids=IDS)
async def test_split_at_every_byte_with_garbage_and_a_corrupt_frame(
    kind: str, sim_cls: type[PtySimulator], dbm: float, fmt: FrameFormat
) -> None:
    async with sim_cls(rate=0, chunk_size=1) as sim:
        sup = open_radio(kind, sim.device_path, "c1", silence_reset_s=5)
        consumer = Consumer(sup)
        try:
            await wait_until(lambda: sim.mode == "c1")
            sim.inject(b"\x00\x13garbage\r\n\xa5\xff")
            sim.send(K1)
            sim.inject(_corrupt(sim, K2))
            sim.inject(b"\x55\xaa\r\nnoise\r\n")
            sim.send(O1, K2)
            got = await consumer.take(3, timeout=20)
            counters = sup.counters
        finally:
            await consumer.close()
    assert [f.frame for f in got] == [K1, O1, K2]
    rejected = counters["crc_errors"] + counters["checksum_errors"] + counters["bad_telegrams"]
    assert rejected == 1
    # the pty really delivered the stream in small pieces
    assert counters["reads"] > (len(sim.data_indication(K1)) * 3) // 2


@pytest.mark.parametrize(("kind", "sim_cls", "dbm", "fmt"), MODULES, ids=IDS)
async def test_unplug_and_replug_through_a_by_id_symlink(
    kind: str, sim_cls: type[PtySimulator], dbm: float, fmt: FrameFormat, tmp_path: Path
) -> None:
    link = tmp_path / "usb-IMST_iM871A_USB-if00-port0"
    async with sim_cls([K1], rate=0, link=link) as sim:
        sup = open_radio(kind, str(link), "c1", backoff_initial_s=0.1, backoff_max_s=0.4)
        consumer = Consumer(sup)
        try:
            assert [f.frame for f in await consumer.take(1)] == [K1]
            await sim.unplug()
            await wait_state(sup, RadioState.BACKOFF)
            lost_reason = sup.reason
            await wait_until(lambda: "no such device" in sup.reason)  # retrying, port absent
            await sim.replug()
            sim.send(K2)
            assert [f.frame for f in await consumer.take(1)] == [K2]
            assert sup.state is RadioState.RUNNING
        finally:
            await consumer.close()
    assert (sim.counters["unplugged"], sim.counters["replugged"]) == (1, 1)
    assert str(link) in lost_reason
    assert sim.config_count == 2  # reconfigured after the replug
    assert sup.counters["reconnects"] >= 2
    assert sup.counters["radio_lost"] >= 2


async def test_silence_reset_reopens_and_reconfigures() -> None:
    async with ImstSimulator([K1], rate=0) as sim:
        sup = open_radio("im871a", sim.device_path, silence_reset_s=0.5, backoff_initial_s=0.1)
        consumer = Consumer(sup)
        try:
            await consumer.take(1)
            sim.pause()  # the module goes quiet but still answers
            # The module counts its configuration when it answers SET_CONFIG; the supervisor is
            # RUNNING only once it has read that answer (until then its reason is "opening").
            await wait_until(
                lambda: (
                    sup.counters["silence_resets"] >= 1
                    and sim.config_count >= 2
                    and sup.state is RadioState.RUNNING
                )
            )
            sup.silence_reset_s = 60.0  # K2 below is to reach the reopened radio, not a third one
            sim.send(K2)
            sim.resume()
            assert [f.frame for f in await consumer.take(1)] == [K2]
        finally:
            await consumer.close()


async def test_module_that_stops_answering_is_retried_until_it_answers() -> None:
    async with ImstSimulator([K1], rate=0) as sim:
        sim.answering = False
        sup = open_radio("im871a", sim.device_path, backoff_initial_s=0.1, backoff_max_s=0.2)
        consumer = Consumer(sup)
        try:
            await wait_until(lambda: "no answer to ping" in sup.reason)
            assert sup.state in (RadioState.BACKOFF, RadioState.CONNECTING)
            sim.answering = True
            assert [f.frame for f in await consumer.take(1)] == [K1]
        finally:
            await consumer.close()


async def test_fail_fast_names_the_missing_port(tmp_path: Path) -> None:
    sup = open_radio("cul", str(tmp_path / "ttyACM9"), fail_fast=True)
    with pytest.raises(RadioLost, match=r"ttyACM9: no such device"):
        await anext(sup.frames())
    assert sup.state is RadioState.STOPPED


async def test_c1_t1_needs_new_imst_firmware() -> None:
    async with ImstSimulator([K1], firmware=0x13) as sim:
        sup = open_radio("im871a", sim.device_path, "c1+t1")
        with pytest.raises(RadioConfigError, match="firmware"):
            await anext(sup.frames())


async def test_t1_and_c1_t1_mode_commands_reach_the_module() -> None:
    for mode, want in (("t1", LinkMode.T1), ("c1+t1", LinkMode.UNKNOWN)):
        async with ImstSimulator([K1], rate=0) as sim:
            consumer = Consumer(open_radio("im871a", sim.device_path, mode))
            try:
                (f,) = await consumer.take(1)
            finally:
                await consumer.close()
        assert (sim.mode, f.link_mode) == (mode, want)


async def test_amber_with_rssi_off_is_switched_on_and_reset() -> None:
    async with AmberSimulator([K1], rate=0, rssi_enabled=False) as sim:
        consumer = Consumer(open_radio("amb8465", sim.device_path, "c1+t1"))
        try:
            (f,) = await consumer.take(1)
        finally:
            await consumer.close()
    assert bytes.fromhex("FF09034501 01B0") in sim.commands  # CMD_SET_REQ: RSSI_Enable (0x45) = 1
    assert bytes.fromhex("FF040109F3") in sim.commands
    assert (f.frame, f.rssi_dbm, sim.memory[0x45]) == (K1, -112.0, 1)


async def test_cul_t1_reports_frame_a() -> None:
    async with CulSimulator([K1], rate=0) as sim:
        consumer = Consumer(open_radio("cul", sim.device_path, "t1"))
        try:
            (f,) = await consumer.take(1)
        finally:
            await consumer.close()
    assert (f.frame, f.frame_format, f.link_mode, f.rssi_dbm) == (
        K1,
        FrameFormat.A,
        LinkMode.T1,
        -104.0,
    )
    assert sim.commands[:3] == [b"V\r\n", b"X21\r\n", b"brt\r\n"]


@pytest.mark.parametrize(
    ("kind", "sim_cls", "recording", "expected"),
    [
        (
            "im871a",
            ImstSimulator,
            read_hex("im871a_crc_stream.hex"),
            # raw B4, 80, 90, A0 -> 0.5 * raw - 122.5
            [(K1, -32.5), (K2, -58.5), (O1, -50.5), (K2B, -42.5)],
        ),
        ("amb8465", AmberSimulator, read_hex("amb8465_k1.hex"), [(K1, -112.0)]),
        ("cul", CulSimulator, read_raw("cul_k1.txt"), [(K1, -104.0)] * 2),
    ],
    ids=IDS,
)
async def test_recorded_stream_through_the_pty(
    kind: str, sim_cls: type[PtySimulator], recording: bytes, expected: list[object]
) -> None:
    """The hand-written recordings, written unmodified to the pty."""
    async with sim_cls(rate=0) as sim:
        consumer = Consumer(open_radio(kind, sim.device_path, "c1"))
        try:
            await wait_until(lambda: sim.mode == "c1")
            sim.inject(recording)
            got = await consumer.take(len(expected))
        finally:
            await consumer.close()
    assert [(f.frame, f.rssi_dbm) for f in got] == expected


async def test_per_frame_rssi() -> None:
    async with ImstSimulator(rate=0) as sim:
        sim.send(K1, rssi_raw=100)
        sim.send(K2, rssi_raw=230)
        consumer = Consumer(open_radio("im871a", sim.device_path))
        try:
            got = await consumer.take(2)
        finally:
            await consumer.close()
    # iM871A RSSI: 0.5·100 − 122.5 = −72.5 dBm; raw ≥ 230 is reported as 0 dBm
    assert [(f.frame, f.rssi_dbm) for f in got] == [(K1, -72.5), (K2, 0.0)]


@pytest.mark.parametrize(("kind", "sim_cls", "dbm", "fmt"), MODULES, ids=IDS)
async def test_frames_are_delivered_in_the_port_read_callback_not_in_a_task(
    kind: str, sim_cls: type[PtySimulator], dbm: float, fmt: FrameFormat
) -> None:
    """Each telegram goes to run()'s deliver inside the serial transport's read callback: no
    task, queue or loop iteration between the read and the consumer."""
    async with sim_cls(rate=0) as sim:
        sup = open_radio(kind, sim.device_path, "c1")
        got: list[tuple[bytes, object]] = []
        task = asyncio.create_task(sup.run(lambda f: got.append((f.frame, asyncio.current_task()))))
        try:
            await wait_state(sup, RadioState.RUNNING)
            sim.send(K1, K2)
            await wait_until(lambda: len(got) == 2)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert got == [(K1, None), (K2, None)]
