"""What the benchmarks share: a Debian mosquitto on a free loopback port, and percentiles."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_broker(d: Path, nodelay: bool = False) -> tuple[subprocess.Popen[bytes], int]:
    """mosquitto with its config in d, listening on 127.0.0.1 only; returns (process, port)."""
    port = free_port()
    conf = d / "mosquitto.conf"
    conf.write_text(
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous true\n"
        "max_queued_messages 1000000\n" + ("set_tcp_nodelay true\n" if nodelay else "")
    )
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(250):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("mosquitto did not start")


def pct(xs: Sequence[float], p: float) -> float:
    """The p-quantile of xs (seconds) in milliseconds; NaN for no samples."""
    s = sorted(xs)
    return s[min(len(s) - 1, int(p * len(s)))] * 1000 if s else float("nan")
