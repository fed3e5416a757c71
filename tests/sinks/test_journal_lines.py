"""The operator's line per published reading ([log] readings): real telegrams decoded, the
values in the line taken from the vectors' expected output, not from our own."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from gatewayd.meters import MeterState, build_reading
from gatewayd.meters.model import Reading, from_dict
from gatewayd.sinks import journal as journal_sink
from gatewayd.sinks.journal import JournalSink, reading_line
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.link import FrameFormat
from tests.conftest import OWN_VECTORS, load_vectors, shared_vector_files

OWN = {v["name"]: v for v in load_vectors(sorted(OWN_VECTORS.glob("*.jsonl")))}
SHARED = {v["name"]: v for v in load_vectors(shared_vector_files())}


def decoded(v: dict[str, Any], *, name: str | None = "Flat 3B", rssi: float = -71.0) -> Reading:
    """The reading for the vector's last telegram, as the daemon builds it."""
    decoder, state = Decoder(), MeterState()
    key = bytes.fromhex(v["key"]) if v.get("key") else None
    reading = None
    for t in v["telegrams"]:
        telegram = decoder.decode(bytes.fromhex(t), FrameFormat.CLEAN, key)
        reading = build_reading(telegram, state=state, rssi_dbm=rssi, name=name)
    assert reading is not None
    return reading


class Grab(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def grab() -> Any:
    logger = logging.getLogger("gatewayd.test.readings")
    handler = Grab()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield logger, handler.records
    logger.removeHandler(handler)


def test_a_water_meter_shows_its_total_volume_name_and_rssi() -> None:
    v = OWN["own/mc21-full"]
    want = v["expected"]["total_m3"]  # 1234.567; its current_status "" adds nothing
    assert reading_line(decoded(v)) == (
        f"meter {v['id']} (Flat 3B): total_m3={want} m³, rssi -71 dBm"
    )


def test_a_meter_without_a_name_of_its_own_is_named_by_its_id() -> None:
    v = OWN["oms-spec/annex-n-2-1-gas"]
    want = v["expected"]["total_m3"]
    line = f"meter {v['id']}: total_m3={want} m³, rssi -66.5 dBm"
    assert reading_line(decoded(v, name=None, rssi=-66.5)) == line
    assert reading_line(decoded(v, name=v["id"], rssi=-66.5)) == line  # the default name


def test_a_leak_shows_the_status_and_the_active_alarm() -> None:
    v = OWN["own/mc21-full-then-compact-leak"]
    e = v["expected"]
    assert reading_line(decoded(v)) == (
        f"meter {v['id']} (Flat 3B): total_m3={e['total_m3']} m³, "
        f"current_status={e['current_status']}, rssi -71 dBm, alarms: leak"
    )


@pytest.mark.parametrize("name", sorted(n for n in SHARED if n == "multical603/Heat"))
def test_a_heat_meter_shows_its_energy_before_its_volume_and_its_flow(name: str) -> None:
    v = SHARED[name]
    e = v["expected"]
    assert reading_line(decoded(v)) == (
        f"meter {v['id']} (Flat 3B): total_energy_consumption_kwh="
        f"{e['total_energy_consumption_kwh']} kWh, volume_flow_m3h={e['volume_flow_m3h']} m³/h, "
        "rssi -71 dBm"
    )


def test_a_heat_cost_allocator_shows_its_units() -> None:
    # OMS Vol.2 annex N.5.3: the current units are the record of storage 0
    v = OWN["oms-spec/annex-n-5-3-hca"]
    units = next(r["value"] for r in v["records"] if r["storage"] == 0)
    line = reading_line(decoded(v))
    assert line.startswith(f"meter {v['id']} (Flat 3B): current_consumption_hca={units}, ")
    assert line.endswith(", rssi -71 dBm")


READING = {
    "id": "76348799",
    "name": "Flat 3B",
    "manufacturer": "KAM",
    "meter": "kamwater",
    "media": "cold water",
    "rssi_dbm": -71.5,
    "total_m3": 6.408,
    "alarms": {"leak": True, "dry": False},
    "records": [],
}


def test_each_reading_is_one_info_line_with_the_journal_fields(grab: Any) -> None:
    logger, records = grab
    JournalSink(logger).publish(from_dict({**READING, "alarms": {"leak": False}}))
    (r,) = records
    assert r.levelno == logging.INFO
    assert r.getMessage() == "meter 76348799 (Flat 3B): total_m3=6.408 m³, rssi -71.5 dBm"
    assert (r.METER_ID, r.METER_NAME, r.GATEWAYD_EVENT) == ("76348799", "Flat 3B", "reading")
    assert (r.MANUFACTURER, r.RSSI_DBM) == ("KAM", "-71.5")


def test_a_reading_that_raised_an_alarm_is_a_warning(grab: Any) -> None:
    logger, records = grab
    JournalSink(logger).publish(from_dict(READING), alarm_changed=True)
    (r,) = records
    assert r.levelno == logging.WARNING and r.GATEWAYD_EVENT == "alarm"
    assert r.getMessage().endswith(", alarms: leak")


def test_off_or_below_the_level_nothing_is_formatted(grab: Any, monkeypatch: Any) -> None:
    logger, records = grab

    def no_formatting(reading: Reading) -> str:
        raise AssertionError("formatted a line that is not logged")

    monkeypatch.setattr(journal_sink, "reading_line", no_formatting)
    reading = from_dict(READING)
    JournalSink(logger, enabled=False).publish(reading)
    JournalSink(logger, enabled=False).publish(reading, alarm_changed=True)
    logger.setLevel(logging.WARNING)  # [log] level = "warning"
    JournalSink(logger).publish(from_dict({**READING, "alarms": {}}))
    assert records == []
    monkeypatch.undo()
    sink = JournalSink(logger)
    sink.publish(reading, alarm_changed=True)  # an active alarm is a warning: still logged
    assert [r.GATEWAYD_EVENT for r in records] == ["alarm"]
    sink.enabled = False  # a reload with [log] readings = false
    sink.publish(reading, alarm_changed=True)
    assert len(records) == 1


def _best_by_fields(reading: Reading) -> dict[Any, tuple[str, object, str]]:
    """The journal line's choice, made the slow way: through every Field the reading has."""
    from gatewayd.meters.roles import Role
    from gatewayd.sinks.readingline import _WANTED

    best: dict[Any, tuple[int, str, object, str]] = {}
    for f in reading.fields:
        if f.role not in _WANTED:
            continue
        if f.role is Role.STATUS:
            if not isinstance(f.value, str) or f.value in ("", "OK"):
                continue
        elif f.number is None:
            continue
        order = f.rank if f.rank is not None else 1 << 16
        if f.role not in best or order < best[f.role][0]:
            best[f.role] = (order, f.name, f.value, f.unit)
    return {role: (n, v, u) for role, (_o, n, v, u) in best.items()}


def test_the_line_picks_what_the_readings_fields_say_for_every_vector() -> None:
    """The line's own quick walk over the values chooses the same fields as the Field model
    (roles, ranks, units, "no value" codes) for every vector that decodes."""
    from gatewayd.sinks.readingline import _best
    from gatewayd.wmbus.errors import TelegramError

    checked = 0
    for v in [*OWN.values(), *SHARED.values()]:
        if not v.get("telegrams"):
            continue
        try:
            reading = decoded(v)
        except (TelegramError, ValueError):
            continue
        assert _best(reading) == _best_by_fields(reading), v["name"]
        checked += 1
    assert checked > 100
