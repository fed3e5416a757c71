"""Logging: journald with structured fields under systemd (its native protocol, sent by
daemon/journalsend.py without ever waiting for journald), stderr elsewhere. A filter on every
handler formats the message and scrubs any secret text.

Structured fields ride on `extra=`, built by `fields()`: the names in FIELDS (documented in
docs/deploy.md, "Journal fields"), so that `journalctl -u gatewayd METER_ID=76348799` works.
The journal gets those and its own few (MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, LOGGER, CODE_*,
EXCEPTION_TEXT), never the other LogRecord attributes. On stderr they are appended as
`key=value`. A line about a meter names it with `meter_label()`: `12345678 (Flat 3B)`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TextIO

from gatewayd.config.secrets import scrub_secrets
from gatewayd.daemon.journalsend import SOCKET, JournalSender, encode

LOGGER = "gatewayd"
# Our journal fields, in the order stderr shows them. Nothing else of a record reaches the journal.
FIELDS = ("METER_ID", "METER_NAME", "MANUFACTURER", "RSSI_DBM", "RADIO", "GATEWAYD_EVENT")
IDENTIFIER = "gatewayd"
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

    Afterwards record.args is empty, so a handler that shipped the raw args (as systemd-python's
    CODE_ARGS does) could not leak them either.
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


class JournalFieldsHandler(logging.Handler):
    """journald's native protocol (daemon/journalsend.py), with only the documented fields.

    A line never waits for journald: while it does not read, lines queue (bounded), and past
    that they are dropped, counted (`dropped`) and the count logged once it reads again."""

    def __init__(self, sender: JournalSender | None = None) -> None:
        super().__init__()
        self.sender = sender or JournalSender(identifier=IDENTIFIER)
        self.identifier = self.sender.identifier
        self._counted = False

    @property
    def dropped(self) -> int:
        return self.sender.dropped

    def emit(self, record: logging.LogRecord) -> None:
        try:
            entry = [
                ("MESSAGE", self.format(record)),
                ("PRIORITY", _PRIORITIES.get(record.levelno) or str(priority(record.levelno))),
                ("SYSLOG_IDENTIFIER", self.identifier),
                ("LOGGER", record.name),
                ("CODE_FILE", record.pathname),
                ("CODE_LINE", str(record.lineno)),
                ("CODE_FUNC", record.funcName),
            ]
            entry += [(n, str(v)) for n in FIELDS if (v := getattr(record, n, None)) is not None]
            if record.exc_text:
                entry.append(("EXCEPTION_TEXT", record.exc_text))
            self.sender.send(encode(entry))
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        global _dropped_closed  # noqa: PLW0603 (the count outlives a reload's new handler)
        if not self._counted:
            self._counted = True
            self.sender.close()
            _dropped_closed += self.sender.dropped
        super().close()


_dropped_closed = 0  # by the journal handlers closed before (a reload replaces the handler)


def journal_dropped() -> int:
    """Log lines journald never got, since the start: its queue stayed full, or no journald."""
    root = logging.getLogger()
    live = sum(h.dropped for h in root.handlers if isinstance(h, JournalFieldsHandler))
    return _dropped_closed + live


def priority(levelno: int) -> int:
    """syslog priority of a logging level: debug 7, info 6, warning 4, error 3, critical 2."""
    for limit, prio in ((logging.DEBUG, 7), (logging.INFO, 6), (logging.WARNING, 4)):
        if levelno <= limit:
            return prio
    return 3 if levelno <= logging.ERROR else 2


_PRIORITIES = {n: str(priority(n)) for n in (10, 20, 30, 40, 50)}


def _journal_handler() -> logging.Handler | None:
    """journald's native socket when there is one (else None: stderr)."""
    if not os.path.exists(SOCKET):
        return None
    return JournalFieldsHandler()


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


def meter_label(meter_id: str, name: str | None = None) -> str:
    """How every log line names a meter: `12345678 (Flat 3B)`, or the id alone when the meter
    has no name of its own (none configured, or the name is the id)."""
    return f"{meter_id} ({name})" if name and name != meter_id else meter_id


def fields(
    event: str,
    meter_id: str | None = None,
    manufacturer: str | None = None,
    rssi_dbm: float | None = None,
    *,
    name: str | None = None,
    radio: str | None = None,
) -> dict[str, object]:
    """The `extra=` dict for a structured log line: GATEWAYD_EVENT=event, and METER_ID,
    METER_NAME (a configured name other than the id), MANUFACTURER, RSSI_DBM, RADIO when given."""
    out: dict[str, object] = {"GATEWAYD_EVENT": event}
    if meter_id is not None:
        out["METER_ID"] = meter_id
        if name and name != meter_id:
            out["METER_NAME"] = name
    if manufacturer is not None:
        out["MANUFACTURER"] = manufacturer
    if rssi_dbm is not None:
        out["RSSI_DBM"] = f"{rssi_dbm:g}"
    if radio is not None:
        out["RADIO"] = radio
    return out


def logging_to_journal() -> bool:
    """Whether the root logger writes to journald."""
    root = logging.getLogger()
    return any(isinstance(h, JournalFieldsHandler) for h in root.handlers)
