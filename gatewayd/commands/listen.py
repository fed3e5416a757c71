"""`gatewayd listen`: commissioning. Every frame heard, what it proves, a summary at the end.

    gatewayd listen [--config FILE] [--keys FILE] [--json]     the running service's frames,
                                                                 through its listen socket
    gatewayd listen --radio KIND:DEVICE [--mode c1|t1|c1+t1]    open a radio (or a file:
                                                                 --radio replay:FILE) yourself

One line per frame (time, id, manufacturer, version, type, RSSI, link mode, CI, encrypted or
not, the key result, a repeater's copy, the driver and headline value), or with --json one
JSON object per line. Keys come from keys files only (--keys, and --config's meters with its
keys.toml); each is tried on the telegrams and never printed. Ctrl-C, SIGTERM or the end of
the input print one summary line per meter and exit 0. Exit 1 when there is nothing to listen
to (radio cannot be opened, no service socket), 2 for a usage or config error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from gatewayd.commands.commission import Commissioner, key_words
from gatewayd.commands.decode import UsageError, load_keys
from gatewayd.config.schema import Config, MeterSettings
from gatewayd.daemon.logs import setup_logging
from gatewayd.errors import ConfigurationError
from gatewayd.radios.base import RadioConfigError, RadioError, RadioFrame, RadioLost
from gatewayd.radios.registry import KINDS, open_radio, parse_mode, parse_radio_spec

DEFAULT_CONFIG = Path("/etc/gatewayd/config.toml")
DEFAULT_STATE_DIR = Path("/var/lib/gatewayd")


def add_arguments(p: argparse.ArgumentParser) -> None:
    kinds = ", ".join(KINDS)
    p.add_argument(
        "--radio",
        metavar="KIND:DEVICE",
        help=f"open this radio instead of listening to the service; KIND is {kinds}",
    )
    p.add_argument("--socket", type=Path, help="the service's listen socket (default: found)")
    p.add_argument(
        "--config",
        type=Path,
        help="config.toml: its meters (names, drivers) and keys (keys_file, or keys.toml beside "
        "it) are tried on the telegrams; its listen_socket is used",
    )
    p.add_argument("--keys", type=Path, help="keys file: TOML [keys] id = hex, or a JSON map")
    p.add_argument("--mode", help="with --radio: c1 (default), t1 or c1+t1")
    p.add_argument("--json", action="store_true", help="one JSON object per frame")
    p.add_argument(
        "--silence-reset-s",
        type=float,
        default=600.0,
        help="with --radio: reopen it after this long without a frame (default 600)",
    )
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="replay only: frames per second (default 1; 0 = as fast as possible)",
    )


def format_line(s: Mapping[str, Any]) -> str:
    """The human line: time id manufacturer version type RSSI mode CI encrypted key driver."""
    rssi = "   ? dBm" if s["rssi_dbm"] is None else f"{s['rssi_dbm']:6.1f} dBm"
    if "id" not in s:
        ident = f"{'?':8} {'?':3} {'':3} {'':20}"
    else:
        ident = f"{s['id']:8} {s['manufacturer']:3} v{s['version']:02X} {s['device_type'][:20]:20}"
    ci = f"CI {s['ci']}" if s.get("ci") else "CI ?"
    enc = {True: "encrypted", False: "plain", None: "?"}[s.get("encrypted")]
    parts = [s["time"], ident, rssi, f"{s['link_mode']:5}", ci, f"{enc:9}"]
    key = s.get("key")
    if key is not None and key != "none":
        parts.append(key_words(key, s.get("key_of")))
    if s.get("repeated"):
        parts.append("REPEATER COPY")
    if "driver" in s:
        parts.append(s["driver"])
    if "value" in s:
        v = s["value"]
        parts.append(f"{v['field']} = {v['value']:g} {v['unit']}".rstrip())
    if "name" in s:
        parts.append(f"'{s['name']}'")
    if "error" in s:
        parts.append(f"error: {s['error']}")
    return "  ".join(parts).rstrip()


def meters_and_keys(args: argparse.Namespace) -> tuple[dict[str, MeterSettings], dict[str, bytes]]:
    """--config's meters and keys, then --keys (which wins for an id in both)."""
    meters: dict[str, MeterSettings] = {}
    keys: dict[str, bytes] = {}
    if args.config is not None:
        config = _load_config(args.config)
        meters = {m.id: m for m in config.meters}
        keys = config.keys()
    if args.keys is not None:
        keys |= load_keys(args.keys)
    return meters, keys


def _load_config(path: Path) -> Config:
    from gatewayd.config.load import load_config  # noqa: PLC0415

    # As the service sees it: its keys arrive as $CREDENTIALS_DIRECTORY/keys.toml, a copy of
    # the keys.toml beside config.toml (what install.sh's check-config does too).
    creds: str | bool = True
    if not os.environ.get("CREDENTIALS_DIRECTORY") and (path.parent / "keys.toml").exists():
        creds = str(path.parent)
    return load_config(path, credentials_dir=creds)


# ---------------------------------------------------------------- the service's socket


class NoService(RadioError):
    """Nothing to listen to: no socket, or nobody serving it."""


def find_socket(args: argparse.Namespace) -> Path:
    from gatewayd.daemon.listensock import candidate_paths  # noqa: PLC0415

    paths: list[Path]
    if args.socket is not None:
        paths = [Path(args.socket)]
    elif args.config is not None:
        gw = _load_config(args.config).gateway
        paths = candidate_paths(gw.listen_socket, gw.state_dir)
        if not paths:
            raise NoService(
                f'{args.config} turns the service\'s listen socket off (listen_socket = ""); '
                "open a radio yourself: gatewayd listen --radio KIND:DEVICE"
            )
    else:
        paths = candidate_paths("auto", DEFAULT_STATE_DIR)
    for path in paths:
        try:
            if path.exists():
                return path
        except PermissionError:  # /run/gatewayd is the group's only: connecting says so
            return path
    where = " or ".join(str(p) for p in paths)
    raise NoService(
        f"no running gatewayd service to listen to ({where} does not exist: "
        "systemctl status gatewayd); to open a radio yourself: gatewayd listen --radio KIND:DEVICE"
    )


async def socket_frames(path: Path, notice: TextIO) -> AsyncIterator[RadioFrame]:
    """The frames a running daemon serves on its listen socket."""
    from gatewayd.radios.base import LinkMode  # noqa: PLC0415
    from gatewayd.wmbus.link import FrameFormat  # noqa: PLC0415

    try:
        reader, writer = await asyncio.open_unix_connection(str(path), limit=1 << 20)
    except PermissionError:
        raise NoService(
            f"{path}: permission denied: only root and members of group gatewayd may listen "
            "(sudo usermod -aG gatewayd $USER, then log in again; or use sudo)"
        ) from None
    except OSError as exc:
        raise NoService(
            f"{path}: nobody answers ({exc.strerror}): is gatewayd running? "
            "(systemctl status gatewayd); to open a radio yourself: --radio KIND:DEVICE"
        ) from None
    try:
        hello = json.loads(await reader.readline() or b"null")
        if not isinstance(hello, dict) or hello.get("listen") != 1:
            raise NoService(f"{path}: not a gatewayd listen socket (or another version)")
        notice.write(
            f"listening to gatewayd {hello.get('gateway', '?')} "
            f"({', '.join(hello.get('radios', []))}) through {path}\n"
        )
        notice.flush()
        while line := await reader.readline():
            obj = json.loads(line)
            if "skipped" in obj:
                n = obj["skipped"]
                words = "frame skipped" if n == 1 else "frames skipped"
                notice.write(f"({n} {words}: this listener read too slowly)\n")
                continue
            if "error" in obj:
                raise NoService(f"{path}: {obj['error']}")
            yield RadioFrame(
                bytes.fromhex(obj["hex"]),
                obj.get("rssi_dbm"),
                LinkMode(obj.get("link_mode", "unknown")),
                FrameFormat(obj.get("frame_format", "clean")),
                float(obj["time"]),
                obj.get("radio", ""),
                tuple(obj.get("heard_by", ())),
            )
        raise RadioLost("the service closed the listen socket (stopped or restarting)")
    finally:
        writer.close()


# ---------------------------------------------------------------- the session


def _radio_frames(args: argparse.Namespace) -> AsyncIterator[RadioFrame]:
    kind, device = parse_radio_spec(args.radio)
    options: dict[str, Any] = {}
    if kind == "replay":
        options["rate"] = 1.0 if args.rate is None else args.rate
    sup = open_radio(
        kind,
        device,
        parse_mode(args.mode or "c1"),
        silence_reset_s=args.silence_reset_s,
        fail_fast=True,
        **options,
    )
    return sup.frames()


async def listen(args: argparse.Namespace, check: Commissioner, out: TextIO) -> int:
    if args.radio is not None:
        frames = _radio_frames(args)
    else:
        if args.mode is not None or args.rate is not None:
            raise UsageError("--mode and --rate go with --radio (the service has its own)")
        frames = socket_frames(find_socket(args), sys.stderr)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def pump() -> None:
        async for frame in frames:
            s = check.check(frame)
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
    error = task.exception() if task in done else None
    if error is None or check.tallies:
        _summary(check, args.json, out)
    if error is not None:
        raise error  # the radio's or the socket's end, after the summary
    return 0


def _summary(check: Commissioner, as_json: bool, out: TextIO) -> None:
    if as_json:
        for summary in check.summaries():
            out.write(json.dumps({"summary": summary}) + "\n")
    else:
        heard = len(check.tallies)
        out.write(f"\nsummary: {heard} meters heard\n" if heard else "\nsummary: nothing heard\n")
        for line in check.summary_lines():
            out.write(f"  {line}\n")
    out.flush()


def run(args: argparse.Namespace) -> int:
    setup_logging("info", journal="no", stream=sys.stderr)
    try:
        meters, keys = meters_and_keys(args)
        return asyncio.run(listen(args, Commissioner(keys, meters), sys.stdout))
    except (ConfigurationError, RadioConfigError) as exc:
        print(f"gatewayd listen: {exc}", file=sys.stderr)
        return 2
    except (RadioLost, RadioError) as exc:
        print(f"gatewayd listen: {exc}", file=sys.stderr)
        return 1
