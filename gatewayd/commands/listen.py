"""`gatewayd listen --radio KIND:DEVICE [--mode c1|t1|c1+t1] [--json]`: commissioning.

Prints one line per frame heard (time, id, manufacturer, version, type, RSSI, link mode, CI,
encrypted or not, key known or not), or with --json one JSON object per line. Keys given with
--key/--keys are only used to say "key known"; they are never printed. Runs until Ctrl-C or
SIGTERM, which end it cleanly with exit status 0. Exit 1 when the radio cannot be opened at
all, 2 for a usage error (unknown kind or mode, unreadable keys file, impossible mode).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from gatewayd.commands.decode import UsageError, load_keys, parse_key
from gatewayd.daemon.logs import setup_logging
from gatewayd.errors import ConfigurationError
from gatewayd.radios.base import RadioConfigError, RadioError, RadioFrame, RadioLost
from gatewayd.radios.registry import KINDS, open_radio, parse_mode, parse_radio_spec
from gatewayd.wmbus.decode import describe
from gatewayd.wmbus.errors import TelegramError
from gatewayd.wmbus.link import device_type_name, parse_link_header


def add_arguments(p: argparse.ArgumentParser) -> None:
    kinds = ", ".join(KINDS)
    p.add_argument("--radio", required=True, metavar="KIND:DEVICE", help=f"KIND is {kinds}")
    p.add_argument("--mode", default="c1", help="c1 (default), t1 or c1+t1")
    p.add_argument("--json", action="store_true", help="one JSON object per frame")
    p.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="ID=HEX",
        help="a meter's key, to report it as known (repeatable; never printed)",
    )
    p.add_argument("--keys", type=Path, help="keys file: TOML [keys] id = hex, or a JSON map")
    p.add_argument(
        "--silence-reset-s",
        type=float,
        default=600.0,
        help="reopen the radio after this long without a frame (default 600)",
    )
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="replay only: frames per second (default 1; 0 = as fast as possible)",
    )


def frame_summary(frame: RadioFrame, known_ids: frozenset[str]) -> dict[str, Any]:
    """What listen prints about one frame, as a dict (the --json object)."""
    out: dict[str, Any] = {
        "time": datetime.fromtimestamp(frame.received_at, UTC).isoformat(timespec="seconds"),
    }
    try:
        summary = describe(frame.frame)
        address, ci, encrypted = summary.address, summary.ci, summary.encrypted
    except TelegramError as exc:
        out["error"] = exc.reason if hasattr(exc, "reason") else str(exc)
        try:
            address, ci, encrypted = parse_link_header(frame.frame).address, None, None
        except TelegramError:
            address = None
            ci = encrypted = None
    if address is not None:
        out |= {
            "id": address.id,
            "manufacturer": address.manufacturer,
            "version": address.version,
            "device_type": device_type_name(address.device_type),
        }
    out |= {
        "rssi_dbm": frame.rssi_dbm,
        "link_mode": frame.link_mode.value,
        "frame_format": frame.frame_format.value,
        "ci": None if ci is None else f"{ci:02X}",
        "encrypted": encrypted,
        "key_known": None if address is None else address.id.lower() in known_ids,
        "hex": frame.frame.hex().upper(),
    }
    return out


def format_line(s: Mapping[str, Any]) -> str:
    """The human line: time id manufacturer version type RSSI mode CI encrypted key."""
    rssi = "   ? dBm" if s["rssi_dbm"] is None else f"{s['rssi_dbm']:6.1f} dBm"
    if "id" not in s:
        ident = f"{'?':8} {'?':3} {'':3} {'':20}"
    else:
        ident = f"{s['id']:8} {s['manufacturer']:3} v{s['version']:02X} {s['device_type'][:20]:20}"
    ci = f"CI {s['ci']}" if s["ci"] else "CI ?"
    enc = {True: "encrypted", False: "plain", None: "?"}[s["encrypted"]]
    key = "" if not s["encrypted"] else ("key known" if s["key_known"] else "NO KEY")
    err = f"  error: {s['error']}" if "error" in s else ""
    return f"{s['time']}  {ident}  {rssi}  {s['link_mode']:5}  {ci}  {enc:9}  {key}{err}".rstrip()


def known_meter_ids(args: argparse.Namespace) -> frozenset[str]:
    ids: set[str] = set()
    if args.keys is not None:
        ids |= set(load_keys(args.keys))
    for item in args.key:
        meter_id, sep, hex_key = item.partition("=")
        if not sep or len(meter_id) != 8:
            raise UsageError("--key expects ID=HEX with an 8-digit meter id")
        parse_key(hex_key, f"--key {meter_id}")  # validated, then forgotten
        ids.add(meter_id.lower())
    return frozenset(ids)


async def listen(args: argparse.Namespace, known: frozenset[str], out: TextIO) -> int:
    kind, device = parse_radio_spec(args.radio)
    options: dict[str, Any] = {}
    if kind == "replay":
        options["rate"] = 1.0 if args.rate is None else args.rate
    sup = open_radio(
        kind,
        device,
        parse_mode(args.mode),
        silence_reset_s=args.silence_reset_s,
        fail_fast=True,
        **options,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def pump() -> None:
        async for frame in sup.frames():
            s = frame_summary(frame, known)
            out.write((json.dumps(s) if args.json else format_line(s)) + "\n")
            out.flush()

    task = asyncio.create_task(pump())
    stopper = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (task, stopper):
            t.cancel()
        await asyncio.gather(task, stopper, return_exceptions=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if task in done:
        task.result()  # the radio's error, if it ended with one
    return 0


def run(args: argparse.Namespace) -> int:
    setup_logging("info", journal="no", stream=sys.stderr)
    try:
        known = known_meter_ids(args)
        return asyncio.run(listen(args, known, sys.stdout))
    except (ConfigurationError, RadioConfigError) as exc:
        print(f"gatewayd listen: {exc}", file=sys.stderr)
        return 2
    except (RadioLost, RadioError) as exc:
        print(f"gatewayd listen: {exc}", file=sys.stderr)
        return 1
