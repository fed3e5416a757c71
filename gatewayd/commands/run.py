"""`gatewayd run`: load the configuration, set up logging, run the daemon until stopped."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
from pathlib import Path

from gatewayd.commands.check_config import load_checked
from gatewayd.config.schema import DEFAULT_PATH
from gatewayd.daemon.app import Daemon
from gatewayd.daemon.logs import setup_logging


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_PATH, help=f"config file (default {DEFAULT_PATH})"
    )
    parser.add_argument(
        "--stdout",
        action="store_true",
        help="also print each published reading as a JSON line (as [stdout] enabled = true)",
    )


def run(args: argparse.Namespace) -> int:
    config = load_checked(args.config)
    if config is None:
        return 2
    if args.stdout:
        config = dataclasses.replace(
            config, stdout=dataclasses.replace(config.stdout, enabled=True)
        )
    setup_logging(config.log.level, config.log.journal)
    try:
        return asyncio.run(_run(Daemon(config)))
    finally:
        gc.enable()


async def _run(daemon: Daemon) -> int:
    """The daemon, with the garbage collector back on from READY=1 (cli.py turns it off for
    the start). What the start built lives as long as the process: it is moved out of the
    collector's reach (gc.freeze), so later collections do not walk it again."""

    async def collector_on_at_ready() -> None:
        await daemon.ready.wait()
        gc.freeze()
        gc.enable()

    ready = asyncio.create_task(collector_on_at_ready())
    try:
        return await daemon.run()
    finally:
        ready.cancel()
