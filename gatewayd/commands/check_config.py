"""`gatewayd check-config`: prove the config can run, without starting anything.

Checks, each reported on its own line, all of them even when one fails:
- the config and its keys parse (file, key, what was expected; one line per mistake, all of them);
- the state dir exists or can be created, and is writable;
- an existing MQTT outbox is an sqlite database (a damaged one is a warning: `gatewayd run`
  moves it aside and starts a new one);
- a serial radio's device is a character device (a missing one is only a warning: a stick
  may be unplugged, and the service waits for it).
With --online, also (each result its own line, see check_online.py): the radio opens and its
module answers the configuration commands and ping; the MQTT broker accepts a connection with
the configured credentials and TLS.
Exit 0 when everything passed (warnings allowed), 2 on any configuration error, 1 when the
configuration is right but an online check failed.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path

from gatewayd.config.load import ConfigError, load_config
from gatewayd.config.reader import every_error
from gatewayd.config.schema import DEFAULT_PATH, Config
from gatewayd.daemon.state import StateDirError, check_state_dir

SERIAL_KINDS = frozenset({"im871a", "iu891a", "amb8465", "cul"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_PATH, help=f"config file (default {DEFAULT_PATH})"
    )
    parser.add_argument(
        "--online",
        action="store_true",
        help="also open the radio and ping the module, and connect to the MQTT broker "
        "(stop the service first: it holds the radio's port)",
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
    """The config, or None after printing one line per error (the caller exits 2)."""
    try:
        return load_config(path)
    except ConfigError as exc:
        found = every_error(exc)
        for one in found:
            print(f"gatewayd: {one}", file=sys.stderr)
        if len(found) > 1:
            print(f"{path}: {len(found)} error(s)", file=sys.stderr)
        return None


def environment_checks(config: Config) -> tuple[list[str], list[str]]:
    """(errors, warnings) about the machine the config names: state dir, outbox, radio device."""
    errors: list[str] = []
    warnings: list[str] = []
    try:
        check_state_dir(config.gateway.state_dir)
    except StateDirError as exc:
        errors.append(str(exc))
    if config.mqtt is not None:
        problem = outbox_problem(config.mqtt.outbox_path)
        if problem:
            warnings.append(problem)
    if config.radio.kind in SERIAL_KINDS:
        device = config.radio.device
        try:
            mode = os.stat(device).st_mode
        except FileNotFoundError:
            warnings.append(
                f"[radio] device: {device} does not exist (radio unplugged?); "
                "the service starts and waits for it"
            )
        except OSError as exc:
            errors.append(f"[radio] device: {device}: {exc.strerror}")
        else:
            if not stat.S_ISCHR(mode):
                errors.append(
                    f"[radio] device: {device} is not a character device (a serial port such "
                    "as /dev/ttyUSB0 or /dev/wmbus0 was expected)"
                )
    return errors, warnings


def outbox_problem(path: Path) -> str | None:
    """Why an existing outbox file cannot be used, or None (absent is fine: it is created)."""
    if not path.exists():
        return None
    import sqlite3  # noqa: PLC0415 (`gatewayd run` without MQTT never needs it)

    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            db.execute("PRAGMA schema_version").fetchone()
        finally:
            db.close()
    except sqlite3.OperationalError:
        return None  # not readable from here (e.g. its WAL index): the service will tell
    except sqlite3.DatabaseError as exc:
        return (
            f"MQTT outbox {path} is damaged ({exc}); gatewayd run moves it aside and starts "
            "a new one (its undelivered readings stay in the moved file)"
        )
    return None


def run(args: argparse.Namespace) -> int:
    config = load_checked(args.config)
    if config is None:
        return 2
    errors, warnings = environment_checks(config)
    for text in warnings:
        print(f"gatewayd: warning: {text}", file=sys.stderr)
    for text in errors:
        print(f"gatewayd: error: {text}", file=sys.stderr)
    if errors:
        print(f"{config.path}: {len(errors)} error(s)", file=sys.stderr)
        return 2
    print(summary(config))
    if not args.online:
        return 0
    from gatewayd.commands.check_online import online_checks  # noqa: PLC0415

    failed = 0
    for result in online_checks(config):
        if result.ok:
            print(f"{config.path}: online: {result.line}")
        else:
            failed += 1
            print(f"gatewayd: error: {result.line}", file=sys.stderr)
    if failed:
        print(f"{config.path}: {failed} online check(s) failed", file=sys.stderr)
        return 1
    return 0
