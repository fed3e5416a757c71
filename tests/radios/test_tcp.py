"""Network receivers (`kind = "tcp"`): real sockets on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket

import pytest

from gatewayd.radios.base import LinkMode, RadioConfigError, RadioLost
from gatewayd.radios.registry import open_radio
from gatewayd.radios.supervisor import RadioState
from tests.conftest import REPO
from tests.radios.helpers import Consumer, wait_state, wait_until
from tests.radios.streams import K1, K2, O1
from tests.radios.test_listen import _gatewayd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _send(port: int, data: bytes, source: str = "127.0.0.1") -> None:
    """Connect from `source` (a loopback address of our choosing) to the radio and send."""
    host = "::1" if ":" in source else "127.0.0.1"
    _reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
    writer.write(data)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def test_lines_in_every_form_from_two_receivers_are_labelled_by_address() -> None:
    port = free_port()
    sup = open_radio("tcp", f"127.0.0.1:{port}", "c1")
    consumer = Consumer(sup)
    try:
        await wait_state(sup, RadioState.RUNNING)
        rtl = f"T1;1;1;2020-01-23 10:25:13.000;97;148;76348799;0x{K1.hex()}\n"
        replay = f"{K2.hex()};-71.5\n" + '{"hex": "' + O1.hex() + '", "rssi_dbm": -80}\n'
        await _send(port, rtl.encode())
        (first,) = await consumer.take(1)
        await _send(port, b"# comment\nnot hex\n" + replay.encode(), source="127.0.0.2")
        rest = await consumer.take(2)
    finally:
        await consumer.close()
    assert (first.frame, first.link_mode, first.rssi_dbm, first.radio) == (
        K1,
        LinkMode.T1,
        None,
        "tcp:127.0.0.1",
    )
    assert [(f.frame, f.rssi_dbm, f.link_mode, f.radio) for f in rest] == [
        (K2, -71.5, LinkMode.C1, "tcp:127.0.0.2"),
        (O1, -80.0, LinkMode.C1, "tcp:127.0.0.2"),
    ]
    assert sup.counters["bad_lines"] == 1 and sup.counters["connections"] == 2


async def test_allow_list_refuses_other_addresses() -> None:
    port = free_port()
    sup = open_radio("tcp", f"127.0.0.1:{port}", "c1", allow=["127.0.0.2/32"])
    consumer = Consumer(sup)
    try:
        await wait_state(sup, RadioState.RUNNING)
        await _send(port, f"{K1.hex()}\n".encode())  # from 127.0.0.1: refused
        await wait_until(lambda: sup.counters["refused_not_allowed"] == 1)
        await _send(port, f"{K2.hex()}\n".encode(), source="127.0.0.2")
        (f,) = await consumer.take(1)
    finally:
        await consumer.close()
    assert (f.frame, f.radio) == (K2, "tcp:127.0.0.2")


async def test_connection_count_and_line_length_are_bounded() -> None:
    port = free_port()
    sup = open_radio("tcp", f"127.0.0.1:{port}", "c1", max_connections=2, max_line=200)
    consumer = Consumer(sup)
    held = []
    try:
        await wait_state(sup, RadioState.RUNNING)
        for _ in range(2):
            held.append(await asyncio.open_connection("127.0.0.1", port))
        await wait_until(lambda: sup.counters["connections"] == 2)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        async with asyncio.timeout(5):
            assert await reader.read() == b""  # the third is closed at once
        writer.close()
        assert sup.counters["refused_too_many"] == 1
        w = held[0][1]
        w.write(b"A" * 5000 + b"\n" + f"{K1.hex()}\n".encode())  # overlong, then a good line
        await w.drain()
        (f,) = await consumer.take(1)
    finally:
        for _, w in held:
            w.close()
        await consumer.close()
    assert f.frame == K1 and sup.counters["overlong_lines"] == 1


async def test_port_in_use_is_retried_and_bad_devices_are_config_errors() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        sup = open_radio("tcp", f"127.0.0.1:{port}", "c1", fail_fast=True)
        with pytest.raises(RadioLost, match="cannot listen"):
            await anext(sup.frames())
    for device, why in [("4000", "HOST:PORT"), ("127.0.0.1:99999", "port must be")]:
        with pytest.raises(RadioConfigError, match=why):
            open_radio("tcp", device, "c1")
    with pytest.raises(RadioConfigError, match="allow"):
        open_radio("tcp", "127.0.0.1:4000", "c1", allow=["not-a-network"])


async def test_ipv6_loopback() -> None:
    port = free_port()
    sup = open_radio("tcp", f"[::1]:{port}", "c1")
    consumer = Consumer(sup)
    try:
        await wait_state(sup, RadioState.RUNNING)
        await _send(port, f"{K1.hex()}\n".encode(), source="::1")
        (f,) = await consumer.take(1)
    finally:
        await consumer.close()
    assert (f.frame, f.radio) == (K1, "tcp:::1")


async def test_gatewayd_listen_on_a_tcp_radio() -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *_gatewayd(),
        "listen",
        "--radio",
        f"tcp:127.0.0.1:{port}",
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(20):
            while True:  # the listener is up once it accepts a connection
                try:
                    await _send(port, f"{K1.hex()};-60\n".encode(), source="127.0.0.3")
                    break
                except ConnectionRefusedError:
                    await asyncio.sleep(0.1)
            line = json.loads(await proc.stdout.readline())
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    assert (line["id"], line["hex"], line["rssi_dbm"]) == ("76348799", K1.hex().upper(), -60.0)


async def test_lines_are_delivered_in_the_connection_read_callback_not_in_a_task() -> None:
    port = free_port()
    sup = open_radio("tcp", f"127.0.0.1:{port}", "c1")
    got: list[tuple[bytes, object]] = []
    task = asyncio.create_task(sup.run(lambda f: got.append((f.frame, asyncio.current_task()))))
    try:
        await wait_state(sup, RadioState.RUNNING)
        await _send(port, f"{K1.hex()}\n{K2.hex()}\n".encode())
        await wait_until(lambda: len(got) == 2)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert got == [(K1, None), (K2, None)]
