"""docs/ble.md is the phone app's contract: its worked examples and tables must match the code."""

from __future__ import annotations

import re

import pytest

from gatewayd.meters.model import from_dict
from gatewayd.sinks.ble import gatt
from tests.conftest import REPO
from tests.sinks.ble.test_gatt import K1_FRAME, K1_READING

DOC = (REPO / "docs" / "ble.md").read_text()


def example(name: str) -> list[bytes]:
    """The hex lines of the ```text block after `<!-- example: name -->`."""
    m = re.search(rf"<!-- example: {name} -->\n```text\n(.*?)```", DOC, re.S)
    assert m, f"docs/ble.md has no example {name!r}"
    return [bytes.fromhex(line) for line in m.group(1).splitlines()]


def table(name: str) -> list[list[str]]:
    m = re.search(rf"<!-- table: {name} -->\n((?:\|.*\n)+)", DOC)
    assert m, f"docs/ble.md has no table {name!r}"
    rows = [
        [c.strip().strip("`") for c in r.strip("|").split("|")] for r in m.group(1).splitlines()
    ]
    return rows[2:]  # skip the header and the rule


def test_reading_record_example() -> None:
    (doc,) = example("reading-record")
    assert doc == gatt.encode_record(gatt.record_from_reading(from_dict(K1_READING)))
    rec = gatt.decode_record(doc)
    assert rec.meter_id == K1_READING["id"] and rec.total_l == 6408 and rec.rssi_dbm == -71


def test_meters_example() -> None:
    (doc,) = example("meters")
    record = gatt.encode_record(gatt.record_from_reading(from_dict(K1_READING)))
    assert doc == gatt.encode_meters(gatt.MetersPage(known=1, page=0, records=(record,)))


def test_select_meter_example() -> None:
    (doc,) = example("select-meter")
    assert gatt.decode_selection(doc) == gatt.Selection(meter_id="76348799")


def test_raw_telegram_example() -> None:
    assert example("raw-telegram") == gatt.raw_fragments(0, K1_FRAME, -71)


def test_status_example() -> None:
    stats = {
        "radio_state": "up",
        "frames": 900,
        "duplicates": 40,
        "no_key": 0,
        "wrong_key": 0,
        "format_unknown": 0,
        "decoded": 880,
        "published": 12,
        "meters": {"ok": 1, "silent": 0, "never_heard": 0},
        "radio_status": "up on /dev/wmbus0",
    }
    value = gatt.status_from_stats("0.1.0", 3723, 1, stats)
    assert b"".join(example("status")) == gatt.encode_status(value)


def test_advertising_example() -> None:
    (doc,) = example("advertising")
    assert len(doc) == 31
    assert doc == gatt.advertising_data(gatt.local_name("site-17"))


def test_uuid_table() -> None:
    rows = {r[0]: r[1] for r in table("uuids")}
    assert rows["service"] == gatt.SERVICE_UUID
    names = {
        "Meters": gatt.METERS,
        "Reading": gatt.READING,
        "Select meter": gatt.SELECT_METER,
        "Raw telegrams": gatt.RAW_TELEGRAMS,
        "Status": gatt.STATUS,
    }
    for label, spec in names.items():
        assert rows[label] == spec.uuid
        for access in spec.access:
            assert access in table("uuids")[list(rows).index(label)][2]


@pytest.mark.parametrize(("bit", "name"), gatt.STATUS_BITS)
def test_status_bit_table(bit: int, name: str) -> None:
    rows = {int(r[0]): r for r in table("status-bits")}
    assert rows[bit][1] == f"0x{1 << bit:04x}" and rows[bit][2].startswith(name)
    assert int(rows[15][1], 16) == gatt.STATUS_NO_ALARM_INFO
    for health_bit, state in gatt.HEALTH_BITS:
        assert rows[health_bit][1] == f"0x{1 << health_bit:04x}"
        assert rows[health_bit][2].startswith(state.replace("_", " "))
    assert len(rows) == len(gatt.STATUS_BITS) + len(gatt.HEALTH_BITS) + 1


def test_ble_read_session_matches_the_client_output() -> None:
    """The `gatewayd ble read` session shows the worked examples above as the client prints
    them (the values on the wire decoded by the same functions the command uses)."""
    from gatewayd.ble_client import render

    m = re.search(r"<!-- session: ble-read -->\n```text\n(.*?)```", DOC, re.S)
    assert m, "docs/ble.md has no ble-read session"
    lines = m.group(1).splitlines()
    (record,) = example("reading-record")
    rec_line = render.record_line(gatt.decode_record(record))
    status = gatt.decode_status(b"".join(example("status")))
    (meters,) = example("meters")
    assert render.status_lines(status) == lines[4:7]
    assert render.meters_lines(gatt.decode_meters(meters)) == lines[7:9]
    assert lines[9] == f"reading (76348799): {rec_line}"
    assert lines[11] == "  " + render.raw_line(*gatt.join_fragments(example("raw-telegram")))


def test_unheard_record_example() -> None:
    (doc,) = example("unheard-record")
    assert doc == gatt.unheard_record("11223344", "never_heard")
    rec = gatt.decode_record(doc)
    assert rec.status == 0xC000 and rec.timestamp == 0 and rec.total_l is None
