"""`gatewayd check-config`: the daemon's config and key checks, without starting anything."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gatewayd.config.load import ConfigError, load_config
from gatewayd.config.schema import DEFAULT_PATH, Config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_PATH, help=f"config file (default {DEFAULT_PATH})"
    )


def summary(config: Config) -> str:
    keys = sum(1 for m in config.meters if m.key is not None)
    sinks = [
        name
        for name, on in (
            ("mqtt", config.mqtt is not None),
            ("ble", config.ble is not None),
            ("stdout", config.stdout.enabled),
        )
        if on
    ]
    return (
        f"{config.path}: ok: gateway {config.gateway.id}, radio {config.radio.kind} on "
        f"{config.radio.device} ({config.radio.mode.value}), {len(config.meters)} meters "
        f"({keys} with keys), sinks: {', '.join(sinks) or 'log only'}, "
        f"state in {config.gateway.state_dir}"
    )


def load_checked(path: Path) -> Config | None:
    """The config, or None after printing its one error line (the caller exits 2)."""
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"gatewayd: {exc}", file=sys.stderr)
        return None


def run(args: argparse.Namespace) -> int:
    config = load_checked(args.config)
    if config is None:
        return 2
    print(summary(config))
    return 0
