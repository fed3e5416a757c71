"""A radio for the daemon tests: rtl_wmbus text lines written into a FIFO at a steady rate.

The daemon reads the FIFO as `[radio] kind = "rtlwmbus"`, `device = <fifo>`. The feeder keeps
writing across daemon restarts: when the reader goes away, it waits for the next one and
resends the line that failed. Each telegram is a MULTICAL 21 frame whose volume is its
sequence number in litres, so readings can be matched one to one; with `meters` > 1 the
telegrams take turns among that many meters (ids from METER up), all with the same key.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

from tests.daemon.harness import METER, mc21


def meter_ids(meters: int) -> list[str]:
    """The ids of a feeder's `meters` meters: METER and the ones after it."""
    return [f"{int(METER) + i:08d}" for i in range(meters)]


def rtl_line(n: int, meter: str = METER) -> bytes:
    frame = mc21(n % 256, n, meter=meter).hex()
    return f"C1;1;1;2026-12-01 00:00:00.000;-70;-70;{meter};0x{frame}\n".encode()


class FifoFeeder(threading.Thread):
    def __init__(self, fifo: Path, rate: float, start_at: int = 1000, meters: int = 1) -> None:
        super().__init__(daemon=True)
        self.meters = meter_ids(meters)
        os.mkfifo(fifo)
        self.fifo = fifo
        self.rate = rate
        self.next = start_at  # the next volume to send
        self.written = 0
        self.sent_at: dict[int, float] = {}  # volume -> time.time() when written
        self.paused = threading.Event()  # set: hold (a radio unplugged)
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)

    def run(self) -> None:
        fd = -1
        t0 = time.monotonic()
        k = 0
        while not self._halt.is_set():
            if fd < 0 or self.paused.is_set():
                if fd >= 0 and self.paused.is_set():
                    os.close(fd)  # unplugged: the reader sees the end of its FIFO
                    fd = -1
                fd = -1 if self.paused.is_set() else self._open()
                if fd < 0:
                    time.sleep(0.02)
                    t0, k = time.monotonic(), 0
                    continue
            delay = t0 + k / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                os.write(fd, rtl_line(self.next, self.meters[self.next % len(self.meters)]))
            except OSError as e:
                if e.errno not in (errno.EPIPE, errno.EAGAIN):
                    raise
                os.close(fd)
                fd = -1
                continue
            self.sent_at[self.next] = time.time()
            self.next += 1
            self.written += 1
            k += 1
        if fd >= 0:
            os.close(fd)

    def _open(self) -> int:
        try:
            fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno == errno.ENXIO:  # no reader yet
                return -1
            raise
        os.set_blocking(fd, True)
        return fd


class GatewaydRun:
    """`gatewayd run --config CFG --stdout` as a subprocess; a thread notes the volume (litres)
    of every reading it prints. `kill()` is SIGKILL, `stop()` SIGTERM."""

    def __init__(self, config: Path, printed: list[int]) -> None:
        import subprocess
        import sys

        from tests.conftest import REPO

        self.printed = printed
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gatewayd", "run", "--config", str(config), "--stdout"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        import json

        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.printed.append(round(json.loads(line)["total_m3"] * 1000))

    def kill(self) -> None:
        self._end(9)

    def stop(self) -> None:
        self._end(15)

    def _end(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(timeout=15)
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def daemon_config(
    path: Path,
    *,
    gateway: str,
    state: Path,
    fifo: Path,
    port: int,
    extra: str = "",
    mqtt: str = "",
    meters: int = 1,
) -> Path:
    """A daemon config: the FIFO radio, the feeder's meters and key, MQTT on `port` (`mqtt`:
    more lines of the [mqtt] table)."""
    from tests.daemon.harness import KEY

    entries = "".join(
        f'[[meters]]\nid = "{m}"\nkey = "{KEY.hex().upper()}"\n\n' for m in meter_ids(meters)
    )

    path.write_text(
        f"""
[gateway]
id = "{gateway}"
state_dir = "{state}"

[radio]
kind = "rtlwmbus"
device = "{fifo}"

{entries}[mqtt]
host = "127.0.0.1"
port = {port}
{mqtt}
[log]
level = "warning"
journal = "no"
{extra}
"""
    )
    return path
