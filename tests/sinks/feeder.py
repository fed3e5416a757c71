"""A radio for the daemon tests: rtl_wmbus text lines written into a FIFO at a steady rate.

The daemon reads the FIFO as `[radio] kind = "rtlwmbus"`, `device = <fifo>`. The feeder keeps
writing across daemon restarts: when the reader goes away, it waits for the next one and
resends the line that failed. Each telegram is a MULTICAL 21 frame whose volume is its
sequence number in litres, so readings can be matched one to one.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

from tests.daemon.harness import METER, mc21


def rtl_line(n: int) -> bytes:
    return f"C1;1;1;2026-12-01 00:00:00.000;-70;-70;{METER};0x{mc21(n % 256, n).hex()}\n".encode()


class FifoFeeder(threading.Thread):
    def __init__(self, fifo: Path, rate: float, start_at: int = 1000) -> None:
        super().__init__(daemon=True)
        os.mkfifo(fifo)
        self.fifo = fifo
        self.rate = rate
        self.next = start_at  # the next volume to send
        self.written = 0
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
                os.write(fd, rtl_line(self.next))
            except OSError as e:
                if e.errno not in (errno.EPIPE, errno.EAGAIN):
                    raise
                os.close(fd)
                fd = -1
                continue
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
