"""The daemon's listen socket on a real unix socket: mode, one tap only while a client is
connected, a slow client skips frames (counted) while the radio path never waits, stale and
live sockets, the client limit, and who may connect."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import stat
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewayd.daemon.listensock import FrameTap, ListenServer, socket_path
from gatewayd.radios.base import LinkMode, RadioFrame, RadioLost
from gatewayd.wmbus.link import FrameFormat
from tests.radios.streams import K1


def _frame(n: int) -> RadioFrame:
    return RadioFrame(K1, -50.0 - n, LinkMode.C1, FrameFormat.CLEAN, 1000.0 + n, "im871a:x")


class Attached:
    def __init__(self) -> None:
        self.history: list[bool] = []
        self.tap: FrameTap | None = None

    def __call__(self, tap: FrameTap | None) -> None:
        self.tap = tap
        self.history.append(tap is not None)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[ListenServer, Attached]]:
    attached = Attached()
    s = ListenServer(
        tmp_path / "listen.sock",
        attach=attached,
        gateway="gw",
        radios=["im871a:x"],
        queue_frames=4,
        max_clients=2,
    )
    assert await s.start()
    yield s, attached
    await s.close()


async def _until(cond: object, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not callable(cond) or not cond():
            await asyncio.sleep(0.01)


async def test_frames_reach_a_client_and_a_slow_one_skips(
    server: tuple[ListenServer, Attached],
) -> None:
    s, attached = server
    mode = os.stat(s.path).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o660
    assert attached.tap is None  # nobody connected: the pipeline has no tap to call
    reader, writer = await asyncio.open_unix_connection(str(s.path))
    hello = json.loads(await reader.readline())
    assert hello == {"listen": 1, "gateway": "gw", "radios": ["im871a:x"]}
    await _until(lambda: attached.tap is not None)
    tap = attached.tap
    assert tap is not None
    writer.write(b"anything a client sends is ignored\n")
    for n in range(100):  # as the radio path calls it: synchronously, never awaiting
        tap(_frame(n))
    assert s.skipped == 96  # 4 queued for the client, the rest skipped
    got = [json.loads(await reader.readline()) for _ in range(4)]
    assert [g["rssi_dbm"] for g in got] == [-50.0, -51.0, -52.0, -53.0]
    assert got[0] == {
        "hex": K1.hex().upper(),
        "rssi_dbm": -50.0,
        "time": 1000.0,
        "radio": "im871a:x",
        "heard_by": [],
        "link_mode": "c1",
        "frame_format": "clean",
    }
    tap(_frame(100))
    assert json.loads(await reader.readline()) == {"skipped": 96}
    assert json.loads(await reader.readline())["rssi_dbm"] == -150.0
    writer.close()
    await _until(lambda: s.clients == 0)
    assert attached.history == [True, False]  # the tap is unset again when the last one left


async def test_client_limit_stale_and_live_sockets(
    server: tuple[ListenServer, Attached], tmp_path: Path
) -> None:
    s, _ = server
    clients = [await asyncio.open_unix_connection(str(s.path)) for _ in range(2)]
    for reader, _w in clients:
        await reader.readline()
    reader, third = await asyncio.open_unix_connection(str(s.path))
    assert json.loads(await reader.readline()) == {"error": "too many listeners connected"}
    assert s.refused == 1
    for _r, w in [*clients, (reader, third)]:
        w.close()
        await w.wait_closed()
    # a second daemon does not take over a socket that is served
    other = ListenServer(s.path, attach=lambda _t: None, gateway="gw", radios=[])
    assert not await other.start()
    assert s.path.exists()
    # a socket left behind by a daemon that died is replaced
    stale = tmp_path / "stale.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(stale))
    dead.close()
    fresh = ListenServer(stale, attach=lambda _t: None, gateway="gw", radios=[])
    assert await fresh.start()
    await fresh.close()
    assert not stale.exists()  # removed on close


def test_where_the_socket_goes() -> None:
    state = Path("/var/lib/gatewayd")
    assert socket_path("auto", state, {"RUNTIME_DIRECTORY": "/run/gatewayd"}) == Path(
        "/run/gatewayd/listen.sock"
    )
    assert socket_path("auto", state, {}) == state / "listen.sock"
    assert socket_path("", state, {}) is None
    assert socket_path("/tmp/x.sock", state, {}) == Path("/tmp/x.sock")


CONNECT = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except PermissionError:
    sys.exit(13)
print(s.makefile().readline().strip())
"""
SYSTEM_PYTHON = "/usr/bin/python3"  # one that user nobody may run (the venv may not be)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
async def test_only_the_group_may_connect() -> None:
    base = Path(tempfile.mkdtemp(prefix="gatewayd-listen-", dir="/tmp"))
    s = ListenServer(base / "listen.sock", attach=lambda _t: None, gateway="gw", radios=[])
    try:
        base.chmod(0o755)
        assert await s.start()
        group = os.stat(s.path).st_gid  # the daemon's group (gatewayd under the unit)

        def as_nobody(extra_groups: list[int]) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [SYSTEM_PYTHON, "-c", CONNECT, str(s.path)],
                check=False,
                user=65534,
                group=65534,
                extra_groups=extra_groups,
                capture_output=True,
                text=True,
                timeout=20,
                cwd="/",
            )

        refused = await asyncio.to_thread(as_nobody, [])
        assert refused.returncode == 13, refused.stderr
        member = await asyncio.to_thread(as_nobody, [group])
        assert member.returncode == 0, member.stderr
        assert json.loads(member.stdout)["listen"] == 1
    finally:
        await s.close()
        for p in base.iterdir():
            p.unlink()
        base.rmdir()


async def test_the_listener_counts_skipped_frames_in_words(tmp_path: Path) -> None:
    from gatewayd.commands.listen import socket_frames

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b'{"listen": 1, "gateway": "gw", "radios": []}\n')
        writer.write(b'{"skipped": 1}\n{"skipped": 2}\n')
        await writer.drain()
        writer.close()

    path = tmp_path / "listen.sock"
    server = await asyncio.start_unix_server(serve, str(path))
    notice = io.StringIO()
    try:
        with pytest.raises(RadioLost, match="closed the listen socket"):  # as the server did
            [f async for f in socket_frames(path, notice)]
    finally:
        server.close()
    lines = notice.getvalue().splitlines()[1:]
    assert lines == [
        "(1 frame skipped: this listener read too slowly)",
        "(2 frames skipped: this listener read too slowly)",
    ]
