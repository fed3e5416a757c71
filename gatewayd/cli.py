"""The `gatewayd` command line. Each subcommand lives in its own module, imported on use.

A subcommand module provides `add_arguments(parser)` and `run(args) -> int`.
Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
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


class _Formatter(argparse.HelpFormatter):
    """argparse's own, given the width that it would look up through shutil: argparse makes a
    formatter for every add_argument (to check the metavar), and importing shutil (with zlib,
    bz2 and lzma) cost `gatewayd run` ~1.5 ms of CPU at every start for a width only --help uses.
    """

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_columns() - 2)


def _columns() -> int:
    """shutil.get_terminal_size().columns: $COLUMNS, else stdout's terminal, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    stdout = sys.__stdout__
    if columns <= 0 and stdout is not None:
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


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
    parser = argparse.ArgumentParser(
        prog="gatewayd", description="wireless M-Bus gateway daemon", formatter_class=_Formatter
    )
    parser.add_argument("--version", action="version", version=f"gatewayd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Only the chosen subcommand's module is imported and only its parser is built (start-up
    # time matters on a Pi Zero); without a known one, every command is listed.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    names = [chosen] if chosen in COMMANDS else list(COMMANDS)
    if chosen == "run":
        # No cyclic garbage collection while the daemon loads and starts: importing its
        # modules and reading a large config make little garbage but many objects, and the
        # collector would walk them over and over (~5 % of the CPU to READY=1). `run` turns
        # it back on at READY=1 (commands/run.py).
        gc.disable()
    for name in names:
        help_text = COMMANDS[name][1]
        p = sub.add_parser(name, help=help_text, description=help_text, formatter_class=_Formatter)
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
