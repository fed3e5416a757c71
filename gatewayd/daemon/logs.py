"""Logging: journald with structured fields under systemd (systemd-python where importable),
stderr elsewhere. A filter on every handler formats the message and scrubs any secret text.

Structured fields ride on `extra=`: METER_ID, MANUFACTURER, RSSI_DBM, GATEWAYD_EVENT, so that
`journalctl -u gatewayd METER_ID=76348799` works. On stderr they are appended as `key=value`.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from gatewayd.config.secrets import scrub_secrets

LOGGER = "gatewayd"
FIELDS = ("METER_ID", "MANUFACTURER", "RSSI_DBM", "GATEWAYD_EVENT")
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def scrub(text: str) -> str:
    """Replace every registered secret (key hex in either case, passwords) by a mask."""
    return scrub_secrets(text)


class RedactingFilter(logging.Filter):
    """Renders msg % args once and scrubs it (and any traceback) before a handler sees it.

    Afterwards record.args is empty, so handlers that ship the raw args (systemd-python's
    CODE_ARGS) cannot leak them either.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = f"{record.msg!s} (bad log arguments)"
        record.msg = scrub(message)
        record.args = ()
        if record.exc_info:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                setattr(record, name, scrub(str(value)))
        return True


class StderrFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = [f"{n.lower()}={getattr(record, n)}" for n in FIELDS if hasattr(record, n)]
        if not fields:
            return text
        head, sep, tail = text.partition("\n")
        return f"{head} [{' '.join(fields)}]{sep}{tail}"


def under_systemd(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get("JOURNAL_STREAM") or env.get("INVOCATION_ID"))


def _journal_handler() -> logging.Handler | None:
    try:
        journal: Any = importlib.import_module("systemd.journal")
    except ImportError:
        return None
    handler: logging.Handler = journal.JournalHandler(SYSLOG_IDENTIFIER="gatewayd")
    return handler


def setup_logging(
    level: str = "info", journal: str = "auto", stream: TextIO | None = None
) -> logging.Handler:
    """Route every logger through one scrubbed handler (journald or stderr); returns it.

    The handler sits on the root logger, so library loggers pass the same filter; `level`
    applies to gatewayd's loggers, libraries stay at WARNING.
    """
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_gatewayd", False):
            root.removeHandler(h)
            h.close()
    handler: logging.Handler | None = None
    if journal == "yes" or (journal == "auto" and under_systemd()):
        handler = _journal_handler()
    if handler is None:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(StderrFormatter())
    handler.addFilter(RedactingFilter())
    handler._gatewayd = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger(LOGGER).setLevel(_LEVELS.get(level, logging.INFO))
    return handler


def set_level(level: str) -> None:
    logging.getLogger(LOGGER).setLevel(_LEVELS.get(level, logging.INFO))


def fields(
    event: str,
    meter_id: str | None = None,
    manufacturer: str | None = None,
    rssi_dbm: float | None = None,
) -> dict[str, object]:
    """The `extra=` dict for a structured log line."""
    out: dict[str, object] = {"GATEWAYD_EVENT": event}
    if meter_id is not None:
        out["METER_ID"] = meter_id
    if manufacturer is not None:
        out["MANUFACTURER"] = manufacturer
    if rssi_dbm is not None:
        out["RSSI_DBM"] = f"{rssi_dbm:g}"
    return out


def logging_to_journal() -> bool:
    """Whether the root logger writes to journald."""
    root = logging.getLogger()
    return any(type(h).__name__ == "JournalHandler" for h in root.handlers)
