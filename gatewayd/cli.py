"""The `gatewayd` command line. Each subcommand lives in its own module, imported on use.

A subcommand module provides `add_arguments(parser)` and `run(args) -> int`.
Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, cast

from gatewayd import __version__

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("gatewayd.commands.run", "run the daemon"),
    "demo": ("gatewayd.commands.demo", "the whole pipeline on a simulated radio, as a live table"),
    "decode": (
        "gatewayd.commands.decode",
        "decode telegrams given as hex (argument or stdin lines)",
    ),
    "detect": ("gatewayd.commands.detect", "list the radio receivers plugged in (opens nothing)"),
    "listen": ("gatewayd.commands.listen", "commissioning: print every frame a radio hears"),
    "check-config": ("gatewayd.commands.check_config", "validate the configuration and keys"),
    "keys": ("gatewayd.commands.keys", "key provisioning (import-kem)"),
    "ble": (
        "gatewayd.commands.ble",
        "BLE tools (pair on the gateway; scan, read, check from a client)",
    ),
}


class _Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _load(name: str) -> _Command | None:
    """The command's module, or None where a damaged install lacks it (install.sh checks this)."""
    try:
        return cast(_Command, importlib.import_module(COMMANDS[name][0]))
    except ModuleNotFoundError as exc:
        if exc.name and COMMANDS[name][0].startswith(exc.name):
            return None
        raise


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="gatewayd", description="wireless M-Bus gateway daemon")
    parser.add_argument("--version", action="version", version=f"gatewayd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Only the chosen subcommand's module is imported (start-up time matters on a Pi Zero).
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (_module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            cmd = _load(name)
            if cmd is None:
                print(f"gatewayd: '{name}' is not available in this build", file=sys.stderr)
                return 2
            cmd.add_arguments(p)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    cmd = _load(args.command)
    assert cmd is not None
    try:
        return cmd.run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
