"""sd_notify against a datagram socket made here, as systemd would provide it."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

from gatewayd.daemon.notify import Notifier


def listener(path: Path) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    s.settimeout(2)
    return s


def test_messages_arrive_verbatim(tmp_path: Path) -> None:
    sock = listener(tmp_path / "notify")
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify")})
    assert n.enabled
    assert n.ready("radio im871a on /dev/x")
    assert n.status("12 frames\nsecond line")
    assert n.stopping()
    got = [sock.recv(4096).decode() for _ in range(3)]
    assert got == [
        "READY=1\nSTATUS=radio im871a on /dev/x",
        "STATUS=12 frames second line",
        "STOPPING=1",
    ]
    n.close()
    sock.close()


def test_reloading_carries_the_monotonic_time_notify_reload_needs(tmp_path: Path) -> None:
    sock = listener(tmp_path / "notify")
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify")})
    before = time.monotonic_ns() // 1000
    assert n.reloading()
    after = time.monotonic_ns() // 1000
    first, second = sock.recv(4096).decode().split("\n")
    assert first == "RELOADING=1"
    name, _, usec = second.partition("=")
    assert name == "MONOTONIC_USEC" and before <= int(usec) <= after
    n.close()
    sock.close()


def test_abstract_socket() -> None:
    name = f"gatewayd-test-{os.getpid()}"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + name)
    s.settimeout(2)
    n = Notifier({"NOTIFY_SOCKET": "@" + name})
    assert n.notify("READY=1")
    assert s.recv(100) == b"READY=1"
    n.close()
    s.close()


def test_no_socket_is_a_no_op() -> None:
    n = Notifier({})
    assert not n.enabled and n.ready() is False and n.watchdog_interval_s is None


def test_watchdog_interval_only_for_this_pid() -> None:
    env = {"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "3000000"}
    assert Notifier(env).watchdog_interval_s == 3.0
    assert Notifier({**env, "WATCHDOG_PID": str(os.getpid())}).watchdog_interval_s == 3.0
    assert Notifier({**env, "WATCHDOG_PID": str(os.getpid() + 1)}).watchdog_interval_s is None
    assert Notifier({**env, "WATCHDOG_USEC": "0"}).watchdog_interval_s is None


async def test_watchdog_pings_at_half_the_interval(tmp_path: Path) -> None:
    sock = listener(tmp_path / "notify")
    sock.setblocking(False)
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "200000"})
    task = asyncio.create_task(n.run_watchdog())
    await asyncio.sleep(0.35)
    task.cancel()
    got = []
    while True:
        try:
            got.append(sock.recv(100))
        except BlockingIOError:
            break
    n.close()
    sock.close()
    assert got.count(b"WATCHDOG=1") >= 2  # pinged at t = 0 and again every 0.1 s
