"""`gatewayd ble ...`: BLE tools for the installer."""

from __future__ import annotations

import argparse
import asyncio
import sys

from gatewayd.sinks.ble.agent import pairing_window


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="ble_command", metavar="ACTION", required=True)
    pair = sub.add_parser(
        "pair",
        help="open a pairing window; print the passkey to type on the phone",
        description=(
            "Make the adapter pairable for a while and act as BlueZ's agent: each passkey "
            "BlueZ picks is printed here for the installer to type on the phone, and each "
            "device that bonds is printed. Afterwards (or on Ctrl-C) nobody can bond."
        ),
    )
    pair.add_argument("--seconds", type=int, default=120, help="window length (default 120)")
    pair.add_argument(
        "--just-works",
        action="store_true",
        help='accept Just Works bonds (no passkey; only for ble.security = "encrypted")',
    )
    pair.add_argument("--adapter", default="hci0", help="BlueZ adapter (default hci0)")


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.seconds <= 3600:
        print("gatewayd ble pair: --seconds must be between 1 and 3600", file=sys.stderr)
        return 2
    return asyncio.run(
        pairing_window(
            args.seconds,
            args.just_works,
            args.adapter,
            out=lambda s: print(s, flush=True),
        )
    )
