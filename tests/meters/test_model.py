"""The typed Reading: frozen, each field with its role, JSON only at the edges."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from gatewayd.meters import MeterState, build_reading
from gatewayd.meters.jsonbytes import to_json
from gatewayd.meters.model import Identity, Reading, from_dict
from gatewayd.meters.roles import Medium, Role, medium_of
from gatewayd.wmbus.decode import Decoder
from tests.meters.builders import address, telegram
from tests.meters.test_reading import k1_records
from tests.sinks.mqtt_readings import KAMSTRUP

# MULTICAL 21 K1, the unencrypted example telegram of the vectors (see benchmarks/meters.py).
K1 = "2A442D2C998734761B168D2091D37CAC21576C7802FF207100041308190000441308190000615B7F616713"


def k1() -> Reading:
    return build_reading(telegram(k1_records()), rssi_dbm=-71, received_at=1795682430)


def test_reading_is_frozen_and_slotted() -> None:
    r = k1()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.rssi_dbm = -50  # type: ignore[misc]
    assert not hasattr(r, "__dict__")
    with pytest.raises(TypeError):
        r.values["total_m3"] = 1  # type: ignore[index]


def test_fields_carry_their_role_and_unit() -> None:
    r = k1()
    roles = {f.name: (f.role, f.unit) for f in r.fields}
    assert roles["total_m3"] == (Role.TOTAL_VOLUME, "m3")
    assert roles["target_m3"] == (Role.VOLUME, "m3")
    assert roles["flow_temperature_c"] == (Role.WATER_TEMPERATURE, "c")
    assert roles["min_external_temperature_last_month_c"] == (Role.AMBIENT_TEMPERATURE, "c")
    assert roles["status"] == (Role.STATUS, "")
    assert r.headline(Role.TOTAL_VOLUME) == 6.408
    assert r.headline(Role.AMBIENT_TEMPERATURE) == 19
    assert r.headline(Role.VOLUME_FLOW) is None


def test_medium_comes_from_the_device_type_byte_not_its_words() -> None:
    assert medium_of(0x16) is Medium.WATER  # cold water
    assert medium_of(0x03) is Medium.GAS
    assert medium_of(0x1B) is Medium.OTHER  # room sensor
    water = Reading(
        Identity("00000001", "KAM", 1, 0x07, "water", "x"), 0, None, {"temperature_c": 9}
    )
    room = Reading(
        Identity("00000001", "KAM", 1, 0x1B, "room sensor", "x"), 0, None, {"temperature_c": 9}
    )
    assert (
        water.headline(Role.WATER_TEMPERATURE) == 9
        and water.headline(Role.AMBIENT_TEMPERATURE) is None
    )
    assert (
        room.headline(Role.AMBIENT_TEMPERATURE) == 9
        and room.headline(Role.WATER_TEMPERATURE) is None
    )


def test_headline_prefers_the_current_value_over_minima() -> None:
    r = from_dict({"id": "00000001", "min_flow_temperature_c": 5, "flow_temperature_c": 20})
    assert r.headline(Role.WATER_TEMPERATURE) == 20


def test_identity_refuses_an_id_that_is_not_8_hex_digits() -> None:
    for bad in ("7634879", "7634879Z", "76/48799", ""):
        with pytest.raises(ValueError, match="id"):
            Identity(bad, "KAM", 1, 0x16, "cold water", "multical21")


def test_json_at_the_edge_in_documented_order_and_encoded_once() -> None:
    r = k1()
    d = r.to_dict()
    assert list(d)[:8] == [
        "id", "manufacturer", "version", "device_type", "meter", "media", "rssi_dbm", "timestamp",
    ]  # fmt: skip
    assert d["timestamp"] == "2026-11-26T08:40:30Z"
    # K1 is a dry MULTICAL 21: its 127 °C water temperature is Kamstrup's "no value"
    assert list(d)[-3:] == ["alarms", "no_value", "records"]
    assert (d["flow_temperature_c"], d["no_value"]) == (127, ["flow_temperature_c"])
    raw = r.json_bytes()
    assert json.loads(raw) == d
    assert r.json_bytes() is raw  # several sinks share one encoding


def test_json_round_trip_through_from_dict() -> None:
    r = build_reading(Decoder().decode(bytes.fromhex(K1)), state=MeterState(), rssi_dbm=-70.5)
    back = from_dict(json.loads(r.json_bytes()))
    assert back.to_dict() == r.to_dict()
    assert to_json(back.to_dict()) == r.json_bytes()


def test_optional_name_dedup_key_and_static_fields() -> None:
    r = build_reading(
        telegram(k1_records(), addr=address()),
        name="Kitchen cold",
        dedup_key="76348799-01-ABCD",
        static=(("apartment", "3B"), ("total_m3", "not this")),
        received_at=0,
    )
    d = r.to_dict()
    assert list(d)[:2] == ["id", "name"] and d["name"] == "Kitchen cold"
    assert d["dedup_key"] == "76348799-01-ABCD"
    assert d["apartment"] == "3B"
    assert d["total_m3"] == 6.408  # a static field never overrides a decoded one


def test_dedup_key_same_for_a_copy_new_for_the_next_telegram() -> None:
    from gatewayd.meters.reading import telegram_key
    from gatewayd.wmbus.encode import kamstrup_c1

    key = bytes(range(16))
    recs = [("0413", (6408).to_bytes(4, "little"))]
    first = kamstrup_c1(meter_id="76348799", key=key, records=recs, acc=0x21, session=0x210)
    copy = bytes([first[0], first[1] ^ 0x04]) + first[2:]  # another C field: a copy, same telegram
    later = kamstrup_c1(meter_id="76348799", key=key, records=recs, acc=0x22, session=0x220)
    d = Decoder(keys={"76348799": key})
    k1, k2, k3 = (telegram_key(d.decode(f)) for f in (first, copy, later))
    assert k1 == k2
    assert k1 != k3
    assert k1.startswith("76348799-21-") and k3.startswith("76348799-22-")
    assert build_reading(d.decode(first)).to_dict()["dedup_key"] == k1


def test_one_headline_for_every_consumer() -> None:
    """The reading's headline field (BLE, the demo table, `gatewayd listen` all take theirs
    from it): the best-ranked field of the role with a number; an unranked one never."""
    from gatewayd.commands.commission import headline

    doc = copy.deepcopy(KAMSTRUP)
    doc["total_forward_m3"] = 5.0  # a total volume counter, but not the meter's total
    reading = from_dict(doc)
    best = reading.headline_field(Role.TOTAL_VOLUME)
    assert best is not None and (best.name, best.number, best.unit) == ("total_m3", 6.408, "m3")
    assert reading.headline(Role.TOTAL_VOLUME) == 6.408
    assert headline(reading) == best  # listen's value is the same field
    del doc["total_m3"]
    assert from_dict(doc).headline_field(Role.TOTAL_VOLUME) is None


def test_dedup_key_text_with_and_without_an_access_number() -> None:
    import zlib

    from gatewayd.meters.reading import telegram_key
    from gatewayd.wmbus.encode import kamstrup_c1

    recs = [("0413", (6408).to_bytes(4, "little"))]
    frame = kamstrup_c1(meter_id="76348799", key=None, records=recs, acc=0x0A)
    # ELL II: the records start after CI(1) CC ACC SN(4) PayloadCRC(2) and the CI 0x78
    body_crc = zlib.crc32(frame[20:])
    assert telegram_key(Decoder().decode(frame)) == f"76348799-0A-{body_crc:08X}"
    # no ELL and a TPL without header: no access number anywhere, shown as "--"
    body = (
        bytes.fromhex("442D2C998734761B1678") + bytes.fromhex("0413") + (6408).to_bytes(4, "little")
    )
    bare = bytes([len(body)]) + body
    crc = zlib.crc32(bare[11:])
    assert telegram_key(Decoder().decode(bare)) == f"76348799----{crc:08X}"
