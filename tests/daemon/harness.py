"""End-to-end harness: `gatewayd run` as a real subprocess against a pty-simulated iM871A, a
fake $NOTIFY_SOCKET (AF_UNIX datagram socket, as systemd provides), readings read from the
stdout JSON-lines sink."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gatewayd.wmbus.encode import kamstrup_c1

# Test-only keys (not the demo's, not a real meter's).
KEY = bytes.fromhex("5A1C0DE5F00DBA11CAFEBABE00112233")
OTHER_KEY = bytes.fromhex("0F0E0D0C0B0A09080706050403020100")
METER = "11223344"

# A MULTICAL 21 record layout that is NOT in the Kamstrup seed table of compact formats, so a
# compact frame of it decodes only once the format was learnt from a full frame.
UNSEEDED = ("02FF20", "0413", "4413", "615B")
STANDARD = ("02FF20", "0413", "4413", "615B", "6167")
LEAK = 0x0004  # Kamstrup info code bit 2: leak now


def mc21(
    acc: int,
    total_l: int,
    *,
    info: int = 0,
    compact: bool = False,
    layout: tuple[str, ...] = STANDARD,
    meter: str = METER,
    key: bytes | None = KEY,
) -> bytes:
    data = {
        "02FF20": info.to_bytes(2, "little"),
        "0413": total_l.to_bytes(4, "little"),
        "4413": (total_l - total_l % 1000).to_bytes(4, "little"),
        "615B": bytes([12]),
        "6167": bytes([19]),
    }
    records = [(h, data[h]) for h in layout]
    return kamstrup_c1(
        meter_id=meter, key=key, records=records, compact=compact, acc=acc, session=acc * 16
    )


def write_config(
    tmp: Path,
    *,
    key: bytes = KEY,
    heartbeat_s: float = 900,
    extra: str = "",
    name: str = "config.toml",
) -> Path:
    cfg = tmp / name
    cfg.write_text(
        f"""
[gateway]
id = "test-gw"
state_dir = "{tmp / "state"}"

[radio]
kind = "im871a"
device = "{tmp / "ttyWMBUS"}"
mode = "c1"

[publish]
heartbeat_s = {heartbeat_s}

[[meters]]
id = "{METER}"
name = "kitchen"
key = "{key.hex().upper()}"

[stdout]
enabled = true

[log]
level = "debug"
{extra}
"""
    )
    return cfg


class NotifySocket:
    """What systemd's notify socket sees, with arrival times."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[tuple[float, str]] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.setblocking(False)
        self._changed = asyncio.Event()
        asyncio.get_running_loop().add_reader(self._sock.fileno(), self._read)

    def _read(self) -> None:
        while True:
            try:
                data = self._sock.recv(65536)
            except BlockingIOError:
                return
            self.messages.append((time.monotonic(), data.decode()))
            self._changed.set()

    def lines(self, prefix: str) -> list[tuple[float, str]]:
        return [(t, ln) for t, m in self.messages for ln in m.split("\n") if ln.startswith(prefix)]

    async def wait_for(self, prefix: str, count: int = 1, timeout: float = 15) -> None:
        async with asyncio.timeout(timeout):
            while len(self.lines(prefix)) < count:
                self._changed.clear()
                await self._changed.wait()

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self._sock.fileno())
        self._sock.close()


class DaemonProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.readings: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        self._changed = asyncio.Event()
        assert proc.stdout is not None and proc.stderr is not None
        self._tasks = [
            asyncio.create_task(self._pump(proc.stdout, self._reading)),
            asyncio.create_task(self._pump(proc.stderr, self.stderr.append)),
        ]

    @classmethod
    async def start(
        cls, config: Path, *args: str, env: dict[str, str] | None = None
    ) -> DaemonProcess:
        full_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "WATCHDOG_"))
        }
        full_env.update(env or {})
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gatewayd",
            "run",
            "--config",
            str(config),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=full_env,
        )
        return cls(proc)

    def _reading(self, line: str) -> None:
        self.readings.append(json.loads(line))

    async def _pump(self, stream: asyncio.StreamReader, sink: Callable[[str], None]) -> None:
        while line := await stream.readline():
            sink(line.decode().rstrip("\n"))
            self._changed.set()

    async def wait(self, cond: Callable[[], bool], timeout: float = 15, what: str = "") -> None:
        try:
            async with asyncio.timeout(timeout):
                while not cond():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}; stderr:\n" + self.log()) from None

    async def wait_readings(self, n: int, timeout: float = 15) -> None:
        await self.wait(lambda: len(self.readings) >= n, timeout, f"{n} readings")

    async def wait_log(self, text: str, count: int = 1, timeout: float = 15) -> None:
        await self.wait(lambda: self.log_count(text) >= count, timeout, repr(text))

    def log_count(self, text: str) -> int:
        return sum(text in line for line in self.stderr)

    def log(self) -> str:
        return "\n".join(self.stderr)

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    async def stop(self, timeout: float = 15) -> int:
        """SIGTERM, then the exit code (killed if it does not exit in time)."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(timeout):
                rc = await self.proc.wait()
                await asyncio.gather(*self._tasks)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError("gatewayd did not exit on SIGTERM:\n" + self.log()) from None
        return rc

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        with contextlib.suppress(ProcessLookupError):
            await self.proc.wait()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
