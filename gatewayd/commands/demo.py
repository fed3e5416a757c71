"""`gatewayd demo`: the whole daemon on a simulated iM871A, shown as a live table.

A pty simulator of the radio module replays gatewayd/data/demo-telegrams.txt (Kamstrup and OMS
telegrams encrypted with the demo keys, see demo_data.py) in real time, looping; the real
daemon (app.Daemon: radio supervisor, dedup, decoder, drivers, publish policy, sinks) reads it
through the same serial code as /dev/ttyUSB0. Meters and sinks come from config.toml (the
repo's, or --config): MQTT and BLE join when configured. State goes to a temporary dir.
Ctrl-C (or --seconds N) stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from gatewayd.config.load import ConfigError, load_config
from gatewayd.config.reader import every_error
from gatewayd.config.schema import Config, ListenMode, LogSettings, RadioSettings
from gatewayd.daemon.app import Daemon
from gatewayd.daemon.logs import RedactingFilter, setup_logging
from gatewayd.daemon.notify import Notifier
from gatewayd.demo.data import DEMO_KEYS, DURATION_S
from gatewayd.demo.table import Table

if TYPE_CHECKING:
    from gatewayd.demo.sim import ImstSimulator

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="meters and sinks (default: the repo's config.toml)",
    )
    parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="gatewayd-demo-") as tmp_dir:
        tmp = Path(tmp_dir)
        try:
            config = demo_config(args.config, tmp)
        except ConfigError as exc:
            for one in every_error(exc):
                print(f"gatewayd: {one}", file=sys.stderr)
            return 2
        tty = sys.stdout.isatty()
        table = Table(config, sys.stdout, live=tty)
        handler = setup_logging("info", journal="no")
        handler.setLevel(logging.WARNING)  # INFO goes to the table's event list instead
        events = _EventHandler(table.events)
        logging.getLogger("gatewayd").addHandler(events)
        try:
            return asyncio.run(_demo(config, table, args.seconds, tmp))
        finally:
            logging.getLogger("gatewayd").removeHandler(events)


def demo_config(path: Path | None, tmp: Path) -> Config:
    if path is None:
        path = REPO_CONFIG if REPO_CONFIG.exists() else _builtin_config(tmp)
    config = load_config(path)
    return dataclasses.replace(
        config,
        radio=RadioSettings(kind="im871a", device=str(tmp / "ttyWMBUS"), mode=ListenMode.C1),
        gateway=dataclasses.replace(config.gateway, state_dir=tmp / "state"),
        log=LogSettings(level="info", journal="no"),
    )


def _builtin_config(tmp: Path) -> Path:
    """For an installed package without the repo's config.toml: the demo meters only."""
    text = "".join(f'[[meters]]\nid = "{mid}"\nkey = "{key}"\n\n' for mid, key in DEMO_KEYS.items())
    path = tmp / "config.toml"
    path.write_text(text)
    return path


def recording() -> list[tuple[float, float, bytes]]:
    """(offset s, RSSI dBm, clean frame) for each recorded telegram."""
    text = resources.files("gatewayd").joinpath("data/demo-telegrams.txt").read_text()
    out = []
    for line in text.splitlines():
        body = line.split("#", 1)[0].split()
        if len(body) == 3:
            out.append((float(body[0]), float(body[1]), bytes.fromhex(body[2])))
    return out


async def _demo(config: Config, table: Table, seconds: float | None, tmp: Path) -> int:
    from gatewayd.demo.sim import ImstSimulator  # noqa: PLC0415 (the daemon never needs it)

    async with ImstSimulator(link=tmp / "ttyWMBUS", rate=0) as sim:
        daemon = Daemon(config, notifier=Notifier({}), listeners=[table.update], journal_sink=False)
        table.stats = daemon.stats
        tasks = [
            asyncio.create_task(_replay(sim, daemon)),
            asyncio.create_task(_redraw(table)),
        ]
        if seconds is not None:
            asyncio.get_running_loop().call_later(seconds, daemon.stop)
        try:
            rc = await daemon.run()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        table.final()
        return rc


async def _replay(sim: ImstSimulator, daemon: Daemon) -> None:
    """Feed the recording to the simulator in real time, forever (it loops)."""
    await daemon.radio_up.wait()  # frames sent before the module is configured are lost
    start = time.monotonic()
    for offset, rssi, frame in _forever(recording()):
        delay = start + offset - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sim.send(frame, rssi_raw=max(0, min(229, round((rssi + 122.5) * 2))))


def _forever(lines: list[tuple[float, float, bytes]]) -> Iterator[tuple[float, float, bytes]]:
    loop = 0
    while True:
        for offset, rssi, frame in lines:
            yield offset + loop * DURATION_S, rssi, frame
        loop += 1


async def _redraw(table: Table) -> None:
    while True:
        table.draw()
        await asyncio.sleep(0.5 if table.live else 10.0)


class _EventHandler(logging.Handler):
    """INFO lines from the daemon (unconfigured meters, alarms, radio state) for the table."""

    def __init__(self, events: deque[str]) -> None:
        super().__init__(logging.INFO)
        self.addFilter(RedactingFilter())
        self._events = events

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.INFO:
            stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
            self._events.append(f"{stamp} {record.getMessage()}")
