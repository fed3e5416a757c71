"""`gatewayd decode`: decode telegrams given as hex, print one JSON reading per telegram.

    gatewayd decode HEX [--key HEX]        one telegram; exit 1 if it cannot be decoded
    gatewayd decode < lines                batch: one JSON line out per line in, in order

A batch line is a telegram in any form `replay` reads (hex, with spaces, `_` or `|` between
groups, `hex;RSSI`, {"hex": ...}, a recording line `offset RSSI hex`) or
{"telegram": "<hex>", "key": "<hex>"} (key optional: 32 hex digits for AES-128, 16 for DES).
Earlier telegrams teach the compact-format cache and the per-meter state.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import orjson

from gatewayd.config.keysfile import key_table, read_keys
from gatewayd.config.reader import KEY_EXPECTED, Table, parse_hex_key
from gatewayd.errors import ConfigurationError
from gatewayd.meters import driver_names
from gatewayd.meters.reading import MeterState, build_reading
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.errors import FrameError, TelegramError
from gatewayd.wmbus.explain import explain
from gatewayd.wmbus.link import FrameFormat, frame_a_size, frame_b_size, strip_crcs


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("hex", nargs="?", help="telegram as hex; omitted: read one per stdin line")
    p.add_argument(
        "--key", help="the meter's key: 32 hex digits (AES-128), or 16 (DES, TPL mode 2)"
    )
    p.add_argument("--keys", type=Path, help="TOML ([keys] id = hex) or JSON map: meter id -> key")
    p.add_argument(
        "--crc",
        nargs="?",
        const="auto",
        choices=("auto", "a", "b"),
        help="input still carries DLL CRCs: frame format a or b (auto: the one L implies)",
    )
    p.add_argument("--driver", default="auto", help="meter driver (default: auto-detect)")
    p.add_argument("--explain", action="store_true", help="annotate every byte")


class UsageError(ConfigurationError):
    pass


def parse_key(text: str, where: str) -> bytes:
    try:
        return parse_hex_key(text.strip()).raw
    except ValueError as exc:
        raise UsageError(f"{where}: expected {KEY_EXPECTED}, found {exc}") from None


def load_keys(path: Path) -> dict[str, bytes]:
    """--keys FILE: a keys file (`[keys]` table) or, for a .json name, a JSON map id -> hex."""
    if path.suffix != ".json":
        keys = read_keys(path)
    else:
        try:
            data: Any = json.loads(path.read_text())
        except OSError as exc:
            raise UsageError(f"{path}: cannot read ({exc.strerror})") from None
        except ValueError as exc:
            raise UsageError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise UsageError(f"{path}: expected a JSON object of meter id: key")
        keys = key_table(Table(data, str(path), ""))
    return {name: key.raw for name, key in keys.items()}


def frame_format(data: bytes, crc: str | None) -> FrameFormat:
    if crc is None:
        return FrameFormat.CLEAN
    if crc == "a":
        return FrameFormat.A
    if crc == "b":
        return FrameFormat.B
    # auto: L decides. Frame A and frame B sizes differ for every L, so this is not a guess.
    if data and len(data) == frame_b_size(data[0]):
        return FrameFormat.B
    if data and data[0] >= 9 and len(data) == frame_a_size(data[0]):
        return FrameFormat.A
    return FrameFormat.B  # neither fits: frame B's length check reports it


class BatchDecoder:
    """One decoder, compact-format cache and meter state across a run of telegrams."""

    def __init__(self, keys: dict[str, bytes], default_key: bytes | None, driver: str,
                 crc: str | None) -> None:  # fmt: skip
        self.decoder = Decoder(keys=keys)
        self.default_key = default_key
        self.driver = driver
        self.crc = crc
        self.state = MeterState()

    def one(self, data: bytes, key: bytes | None) -> dict[str, Any]:
        try:
            fmt = FrameFormat.CLEAN if self.crc is None else frame_format(data, self.crc)
            telegram = self.decoder.decode(data, fmt, key or self.default_key)
            return build_reading(telegram, driver=self.driver, state=self.state).to_dict()
        except TelegramError as exc:
            return {
                "id": exc.meter_id or _peek_id(data),
                "error": str(exc),
                "raw": data.hex().upper(),
            }


def _peek_id(data: bytes) -> str | None:
    return data[4:8][::-1].hex() if len(data) >= 10 else None


def _line_input(
    line: str, n: int, keys_seen: dict[str, bytes] | None = None
) -> tuple[bytes | None, bytes | None, str | None]:
    """(telegram, key, error) for one stdin line; with an error the telegram is given when it
    could be read, so the error line can name the meter."""
    text = line.strip()
    key = None
    key_error = None
    if not text:
        return None, None, f"line {n}: empty"
    if text.startswith("{"):
        try:
            obj = orjson.loads(text)
            if "telegram" in obj or "hex" not in obj:  # {"hex": ...}: a replay line
                text = str(obj["telegram"])
            if obj.get("key"):
                key = _line_key(str(obj["key"]), n, keys_seen)
        except (ValueError, KeyError, TypeError) as exc:  # orjson.JSONDecodeError is a ValueError
            return None, None, f"line {n}: not a telegram object ({exc})"
        except UsageError as exc:
            key_error = str(exc)
    data = telegram_bytes(text)
    if data is None:
        return None, None, f"line {n}: not hex"
    if key_error is not None:
        meter_id = _peek_id(data)
        return data, None, f"meter {meter_id}: {key_error}" if meter_id else key_error
    return data, key, None


def telegram_bytes(text: str) -> bytes | None:
    """A telegram in any form `replay` reads (hex with spaces, `_` or `|` between groups,
    `hex;RSSI`, a replay JSON line, a recording line `offset RSSI hex  # comment`), as bytes;
    None when it is none of them. Plain hex takes the fast path."""
    try:
        return bytes.fromhex(text)
    except ValueError:
        pass
    from gatewayd.radios.replay import split_line  # noqa: PLC0415 (only off the fast path)

    try:
        parts = split_line(text)
    except FrameError:
        return None
    if parts is None:
        return None
    if parts.frame_format is FrameFormat.CLEAN:
        return parts.data
    try:
        return strip_crcs(parts.data, parts.frame_format)
    except FrameError:
        return parts.data  # the decoder says what is wrong with it


def dumps(obj: object) -> str:
    """Compact, ASCII-only JSON of a reading: orjson, and the standard library for what orjson
    refuses (an integer wider than 64 bits from a long binary record) or would leave unescaped
    (non-ASCII text, e.g. U+0085 or U+2028, which line-splitting readers take for line ends)."""
    try:
        out = orjson.dumps(obj)
        if out.isascii():
            return out.decode()
    except TypeError:
        pass
    return json.dumps(obj, separators=(",", ":"))


def dumps_line(obj: object) -> bytes:
    """dumps(obj) and a newline, as bytes (ASCII): orjson's own bytes when they are ASCII."""
    try:
        out = orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
        if out.isascii():
            return out
    except TypeError:
        pass
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def _line_key(text: str, n: int, keys_seen: dict[str, bytes] | None) -> bytes:
    """A batch line's key; a run repeats the same few keys, so each is parsed once."""
    key = None if keys_seen is None else keys_seen.get(text)
    if key is None:
        key = parse_key(text, f"line {n}")
        if keys_seen is not None:
            if len(keys_seen) >= MAX_KEYS_SEEN:
                keys_seen.clear()
            keys_seen[text] = key
    return key


MAX_KEYS_SEEN = 1024


def run_batch(lines: Iterable[str], out: TextIO, batch: BatchDecoder, *, live: bool = False) -> int:
    """One JSON line out per line in. live: flush after each line (input from a pipe or a
    terminal may be a live stream, e.g. `tail -f`); a file is read at full speed."""
    # The lines are ASCII: they go to the bytes under a text stream when it has them (no
    # decoding and encoding again per line), else through the text stream.
    raw: BinaryIO | None = getattr(out, "buffer", None)
    write: Callable[[bytes], object]
    if raw is not None:
        out.flush()
        write, flush = raw.write, raw.flush
    else:
        write_text = out.write
        write, flush = (lambda b: write_text(b.decode())), out.flush
    keys_seen: dict[str, bytes] = {}
    for n, line in enumerate(lines, 1):
        data, key, err = _line_input(line, n, keys_seen)
        if data is None or err is not None:
            meter_id = None if data is None else _peek_id(data)
            write(dumps_line({"id": meter_id, "error": err, "raw": line.strip()}))
        else:
            write(dumps_line(batch.one(data, key)))
        if live:
            flush()
    flush()
    return 0


def _is_live(stream: TextIO) -> bool:
    try:
        return not stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):
        return True


def run(args: argparse.Namespace) -> int:
    try:
        keys = load_keys(args.keys) if args.keys else {}
        default_key = parse_key(args.key, "--key") if args.key else None
    except ConfigurationError as exc:
        print(f"gatewayd decode: {exc}", file=sys.stderr)
        return 2
    if args.driver != "auto" and args.driver not in driver_names():
        known = ", ".join(n for n in driver_names() if n != "auto")
        print(
            f"gatewayd decode: unknown driver {args.driver!r} (known: auto, {known})",
            file=sys.stderr,
        )
        return 2
    batch = BatchDecoder(keys, default_key, args.driver, args.crc)
    if args.hex is None:
        return run_batch(sys.stdin, sys.stdout, batch, live=_is_live(sys.stdin))
    data = telegram_bytes(args.hex)
    if data is None:
        print("gatewayd decode: HEX is not hexadecimal", file=sys.stderr)
        return 2
    if args.explain:
        print(explain(data, frame_format(data, args.crc), batch.decoder, default_key))
    reading = batch.one(data, None)
    print(dumps(reading))
    return 1 if "error" in reading else 0
