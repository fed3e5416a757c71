"""`gatewayd ble ...`: BLE tools. `pair` runs on the gateway (the installer's pairing window);
`scan`, `read` and `check` run on a client machine (a laptop, a second Pi) as a phone would,
through bleak (the `ble-client` extra, imported only by them)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from gatewayd.errors import ConfigurationError, GatewaydError


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

    scan = sub.add_parser(
        "scan",
        help="(client) list gateways advertising the gatewayd service",
        description="Scan for gateways advertising the gatewayd service UUID; strongest first.",
    )
    scan.add_argument("--seconds", type=float, default=5.0, help="scan time (default 5)")
    scan.add_argument("--json", action="store_true", help="one JSON document")
    scan.add_argument("--adapter", help="client adapter (default: BlueZ's first powered one)")

    read = sub.add_parser(
        "read",
        help="(client) read a gateway as the phone app does, print it decoded",
        description=(
            "Connect to a gateway (the only one a scan finds, or ADDRESS), optionally pair "
            "(type the passkey the gateway's `gatewayd ble pair` prints), read Status and "
            "Meters, select a meter and read its Reading, then print Reading and Raw "
            "telegrams notifications for a while."
        ),
    )
    read.add_argument("address", nargs="?", help="the gateway's Bluetooth address")
    read.add_argument("--json", action="store_true", help="one JSON document on stdout")
    read.add_argument("--pair", action="store_true", help="pair first (passkey entry)")
    read.add_argument("--meter", help="meter id to select (default: the first one listed)")
    read.add_argument(
        "--listen", type=float, default=10.0, help="seconds of notifications (default 10; 0 = none)"
    )
    read.add_argument("--adapter", help="client adapter (default: BlueZ's first powered one)")

    check = sub.add_parser(
        "check",
        help="(client) the hardware checklist against a real gateway, pass/fail per step",
        description=(
            "Runs the BLE hardware checklist from a client machine: advertised, unreadable "
            "without a bond, pairing, reads and their layouts at this link's MTU, "
            "notifications, and (with --restart) the bond surviving a bluetoothd restart."
        ),
    )
    check.add_argument("address", help="the gateway's Bluetooth address")
    check.add_argument(
        "--listen", type=float, default=40.0, help="seconds to wait for notifications (default 40)"
    )
    check.add_argument(
        "--restart",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for bluetoothd on the gateway to be restarted, then check the bond",
    )
    check.add_argument("--adapter", help="client adapter (default: BlueZ's first powered one)")


def run(args: argparse.Namespace) -> int:
    if args.ble_command == "pair":
        return _pair(args)
    try:
        if args.ble_command == "scan":
            return asyncio.run(_scan(args))
        if args.ble_command == "read":
            return asyncio.run(_read(args))
        from gatewayd.ble_client.check import run_check  # noqa: PLC0415

        return asyncio.run(run_check(args.address, args.listen, args.restart, args.adapter, _out))
    except ConfigurationError as exc:
        print(f"gatewayd ble {args.ble_command}: {exc}", file=sys.stderr)
        return 2
    except GatewaydError as exc:
        print(f"gatewayd ble {args.ble_command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _out(line: str) -> None:
    print(line, flush=True)


def _pair(args: argparse.Namespace) -> int:
    from gatewayd.sinks.ble.agent import pairing_window  # noqa: PLC0415

    if not 1 <= args.seconds <= 3600:
        print("gatewayd ble pair: --seconds must be between 1 and 3600", file=sys.stderr)
        return 2
    return asyncio.run(pairing_window(args.seconds, args.just_works, args.adapter, out=_out))


async def _scan(args: argparse.Namespace) -> int:
    from gatewayd.ble_client.session import scan  # noqa: PLC0415

    found = await scan(args.seconds, args.adapter)
    if args.json:
        _out(
            json.dumps([{"address": f.address, "name": f.name, "rssi_dbm": f.rssi} for f in found])
        )
    else:
        for f in found:
            _out(f"{f.address}  {f.name or '(no name)'}  RSSI {f.rssi} dBm")
        if not found:
            print(f"no gateway heard in {args.seconds:g} s", file=sys.stderr)
    return 0 if found else 1


async def _read(args: argparse.Namespace) -> int:
    from gatewayd.ble_client.read import ReadOptions, read_gateway  # noqa: PLC0415

    if args.listen < 0:
        raise ConfigurationError("--listen must be 0 or more seconds")
    opts = ReadOptions(
        address=args.address,
        as_json=args.json,
        pair=args.pair,
        meter=args.meter,
        listen_s=args.listen,
        adapter=args.adapter,
    )
    await read_gateway(opts, _out)
    return 0
