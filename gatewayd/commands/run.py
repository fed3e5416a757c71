"""`gatewayd run`: load the configuration, set up logging, run the daemon until stopped."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
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
    return asyncio.run(Daemon(config).run())
