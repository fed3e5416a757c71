"""Logging: secrets never reach a line; structured fields are kept; stderr outside systemd."""

from __future__ import annotations

import io
import logging
import re

from gatewayd.config.secrets import Key, Secret
from gatewayd.daemon.logs import FIELDS, fields, meter_label, setup_logging, under_systemd
from tests.conftest import REPO

HEX = "00112233445566778899AABBCCDDEEFF"


def test_keys_and_passwords_are_scrubbed_from_messages_args_and_tracebacks() -> None:
    key = Key.from_hex(HEX)
    Secret("correct-horse")
    out = io.StringIO()
    handler = setup_logging("debug", journal="no", stream=out)
    try:
        log = logging.getLogger("gatewayd.test")
        log.info("key %s", HEX)
        log.info("lower %s and bytes %s", HEX.lower(), key.raw.hex())
        log.warning("password=correct-horse")
        log.info("repr %r", key)
        try:
            raise ValueError(f"bad {HEX}")
        except ValueError:
            log.exception("failed")
        logging.getLogger("some.library").warning("lib %s", HEX)  # via the root handler
    finally:
        logging.getLogger().removeHandler(handler)
    text = out.getvalue()
    assert HEX not in text.upper()
    assert "correct-horse" not in text
    assert text.count("<redacted>") >= 7
    assert "Key(<redacted>)" in text
    assert "ValueError: bad <redacted>" in text


def test_structured_fields_on_stderr() -> None:
    out = io.StringIO()
    handler = setup_logging("info", journal="no", stream=out)
    try:
        logging.getLogger("gatewayd.x").info(
            "meter heard", extra=fields("unconfigured", "76348799", "KAM", -71.0)
        )
        logging.getLogger("gatewayd.x").debug("not shown at info")
    finally:
        logging.getLogger().removeHandler(handler)
    line = out.getvalue().strip()
    assert line.endswith(
        "meter heard [meter_id=76348799 manufacturer=KAM rssi_dbm=-71 gatewayd_event=unconfigured]"
    )
    assert "not shown" not in out.getvalue()


def test_under_systemd_detection() -> None:
    assert under_systemd({"JOURNAL_STREAM": "8:1234"})
    assert under_systemd({"INVOCATION_ID": "abc"})
    assert not under_systemd({})


def test_journal_auto_falls_back_to_stderr_off_systemd(monkeypatch: object) -> None:
    out = io.StringIO()
    handler = setup_logging("info", journal="auto", stream=out)
    try:
        assert isinstance(handler, logging.StreamHandler)
    finally:
        logging.getLogger().removeHandler(handler)


def test_a_meter_is_named_by_id_and_configured_name() -> None:
    assert meter_label("12345678", "Flat 3B") == "12345678 (Flat 3B)"
    assert meter_label("12345678", "12345678") == "12345678"  # the default name is the id
    assert meter_label("12345678", None) == "12345678"
    assert fields("x", "12345678", name="Flat 3B") == {
        "GATEWAYD_EVENT": "x",
        "METER_ID": "12345678",
        "METER_NAME": "Flat 3B",
    }
    assert "METER_NAME" not in fields("x", "12345678", name="12345678")
    assert fields("radio_running", radio="im871a:/dev/wmbus0")["RADIO"] == "im871a:/dev/wmbus0"


def test_every_journal_field_is_documented() -> None:
    """fields() makes only FIELDS; an extra= written out as a dict (the radios') uses those
    names too; docs/deploy.md lists each, and the journal's own."""
    used: set[str] = set()
    for path in (REPO / "gatewayd").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for literal in re.findall(r"extra = (\{[^}]*\})|extra=(\{[^}]*\})", text):
            used |= set(re.findall(r'"([A-Z][A-Z0-9_]*)":', "".join(literal)))
    assert used and used <= set(FIELDS), used
    doc = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = doc[doc.index("### Journal fields") :]
    own = ("MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "LOGGER", "CODE_FILE", "EXCEPTION_TEXT")
    for name in (*FIELDS, *own):
        assert f"`{name}`" in section, name


def test_every_journal_event_is_documented() -> None:
    """Each GATEWAYD_EVENT gatewayd logs (fields("..."), a telegram error's kind, the radio's
    states) is listed in docs/deploy.md's journal fields table."""
    events: set[str] = set()
    for path in (REPO / "gatewayd").rglob("*.py"):
        events |= set(re.findall(r'(?<![\w.])fields\(\s*"([a-z_]+)"', path.read_text()))
    errors = (REPO / "gatewayd" / "wmbus" / "errors.py").read_text()
    events |= set(re.findall(r'^    kind = "([a-z_]+)"', errors, re.MULTILINE))
    events |= {"reading", "alarm", "meter_silent", "meter_back", "radio_running"}
    doc = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    row = next(line for line in doc.splitlines() if line.startswith("| `GATEWAYD_EVENT` |"))
    assert {"config_error", "wrong_key", "unread_data"} <= events
    assert {e for e in events if f"`{e}`" not in row} == set()
