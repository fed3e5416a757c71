"""The pure GATT contract: UUIDs, flags, and every value layout (docs/ble.md)."""

from __future__ import annotations

import calendar
import struct
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayd.config.sections import BleSecurity
from gatewayd.meters.model import from_dict
from gatewayd.sinks.ble import gatt

# K1 (the Kamstrup MULTICAL 21 example telegram) and the documented reading decoded from it.
K1_FRAME = bytes.fromhex(
    "2A442D2C998734761B168D2091D37CAC21E1D68CDAFFCD3DC452BD802913FF7B1706CA9E355D6C2701CC24"
)
K1_PLAINTEXT = bytes.fromhex("576C7802FF20710004130819000044130819000061" + "5B7F616713")
K1_READING = {
    "id": "76348799",
    "manufacturer": "KAM",
    "media": "cold water",
    "rssi_dbm": -71,
    "timestamp": "2026-11-26T08:40:30Z",
    "total_m3": 6.408,
    "target_m3": 6.408,
    "flow_temperature_c": 127,
    "min_external_temperature_last_month_c": 19,
    "alarms": {"dry": True, "reverse": False, "leak": False, "burst": False, "tamper": False},
}


def test_uuids_share_one_random_base_and_differ() -> None:
    uuids = [gatt.SERVICE_UUID] + [c.uuid for c in gatt.CHARACTERISTICS]
    assert len(set(uuids)) == len(uuids) == 6
    for u in uuids:
        parsed = uuid.UUID(u)
        assert str(parsed) == u
        assert not u.endswith("-0000-1000-8000-00805f9b34fb")  # never the Bluetooth SIG base
        assert u[:4] + u[8:] == uuids[0][:4] + uuids[0][8:]


@pytest.mark.parametrize(
    ("security", "prefix"), [("authenticated", "secure-"), ("encrypted", "encrypt-")]
)
def test_every_flag_is_secured(security: BleSecurity, prefix: str) -> None:
    for spec in gatt.CHARACTERISTICS:
        flags = gatt.char_flags(spec, security)
        assert len(flags) == len(spec.access)
        assert all(f.startswith(prefix) for f in flags)
        if security == "encrypted":
            assert not any("authenticated" in f for f in flags)
    assert gatt.char_flags(gatt.READING, "authenticated") == ["secure-read", "secure-notify"]


def test_k1_reading_record_bytes() -> None:
    rec = gatt.record_from_reading(from_dict(K1_READING))
    data = gatt.encode_record(rec)
    assert len(data) == 20
    assert data[0] == 0x01
    # the id as the A-field bytes of the telegram itself (K1 offset 4..7)
    assert data[1:5] == K1_FRAME[4:8]
    # 6408 litres: the same 4 bytes the meter sent in its 0413 volume record
    assert data[5:9] == K1_PLAINTEXT[K1_PLAINTEXT.index(bytes.fromhex("0413")) + 2 :][:4]
    assert data[9:13] == struct.pack("<I", calendar.timegm((2026, 11, 26, 8, 40, 30)))
    assert data[13:15] == b"\x01\x00"  # dry
    assert data[15:17] == b"\xff\xff"  # no flow in this reading
    assert data[17] == 0x7F  # 127 = the meter's own n/a marker
    assert data[18] == 19
    assert data[19] == 256 - 71


def test_record_missing_and_out_of_range_values_are_na() -> None:
    rec = gatt.record_from_reading(
        from_dict({"id": "12345678", "total_m3": -1.0, "rssi_dbm": -300})
    )
    assert rec == gatt.ReadingRecord("12345678", None, 0, gatt.STATUS_NO_ALARM_INFO, *[None] * 4)
    assert gatt.encode_record(rec)[5:] == bytes.fromhex("ffffffff000000000080ffff7f7f7f")
    big = gatt.record_from_reading(
        from_dict({"id": "12345678", "flow_m3h": 65.535, "total_m3": 4294967.295})
    )
    assert big.flow_lh is None and big.total_l is None
    fits = gatt.record_from_reading(
        from_dict({"id": "12345678", "flow_m3h": 65.534, "total_m3": 4294967.294})
    )
    assert (fits.flow_lh, fits.total_l) == (65534, 4294967294)


def test_record_field_alternatives() -> None:
    water = gatt.record_from_reading(
        from_dict(
            {"id": "00000001", "media": "water", "temperature_c": 12.4, "volume_flow_m3h": 0.035}
        )
    )
    assert (water.water_c, water.ambient_c, water.flow_lh) == (12, None, 35)
    room = gatt.record_from_reading(
        from_dict({"id": "00000001", "media": "room sensor", "temperature_c": -5})
    )
    assert (room.water_c, room.ambient_c) == (None, -5)


@pytest.mark.parametrize(("bit", "name"), gatt.STATUS_BITS)
def test_status_bits(bit: int, name: str) -> None:
    alarms = {n: n == name for _b, n in gatt.STATUS_BITS}
    assert gatt.status_bits(alarms) == 1 << bit
    assert gatt.status_bits({}) == 0
    assert gatt.status_bits(None) == 0x8000


@pytest.mark.parametrize("bad", [{}, {"id": 76348799}, {"id": "7634879"}, {"id": "7634879Z"}])
def test_record_needs_an_id(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="id"):
        gatt.record_from_reading(from_dict(bad))


def _records() -> st.SearchStrategy[gatt.ReadingRecord]:
    i8 = st.none() | st.integers(-128, 126)
    return st.builds(
        gatt.ReadingRecord,
        meter_id=st.binary(min_size=4, max_size=4).map(lambda b: b.hex()),
        total_l=st.none() | st.integers(0, 0xFFFFFFFE),
        timestamp=st.integers(0, 0xFFFFFFFF),
        status=st.integers(0, 0xFFFF),
        flow_lh=st.none() | st.integers(0, 0xFFFE),
        water_c=i8,
        ambient_c=i8,
        rssi_dbm=i8,
    )


@given(_records())
def test_record_round_trip(rec: gatt.ReadingRecord) -> None:
    assert gatt.decode_record(gatt.encode_record(rec)) == rec


def test_decode_record_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="20 bytes"):
        gatt.decode_record(bytes(19))
    with pytest.raises(ValueError, match="version"):
        gatt.decode_record(bytes(20))


@given(st.lists(_records(), max_size=25), st.integers(0, 0xFFFF), st.integers(0, 255))
def test_meters_page_round_trip(recs: list[gatt.ReadingRecord], known: int, page: int) -> None:
    p = gatt.MetersPage(known, page, tuple(gatt.encode_record(r) for r in recs))
    data = gatt.encode_meters(p)
    assert len(data) == 5 + 20 * len(recs) <= 512
    assert gatt.decode_meters(data) == p


def test_meters_page_limits() -> None:
    with pytest.raises(ValueError):
        gatt.encode_meters(gatt.MetersPage(26, 0, (bytes(20),) * 26))
    with pytest.raises(ValueError, match="announces"):
        gatt.decode_meters(bytes.fromhex("0101000001") + bytes(19))
    assert [gatt.page_count(n) for n in (0, 1, 25, 26, 50, 51)] == [1, 1, 1, 2, 2, 3]


def test_selection() -> None:
    assert gatt.decode_selection(bytes.fromhex("99873476")) == gatt.Selection(meter_id="76348799")
    assert gatt.decode_selection(b"\x02") == gatt.Selection(page=2)
    for n in (0, 2, 3, 5, 20):
        with pytest.raises(ValueError, match="4 bytes"):
            gatt.decode_selection(bytes(n))


def test_raw_fragments_of_k1() -> None:
    frags = gatt.raw_fragments(0x105, K1_FRAME, -71.4)
    # 1 RSSI byte + 43 telegram bytes = 44 bytes in 18-byte pieces
    assert [len(f) for f in frags] == [20, 20, 10]
    assert [f[:2] for f in frags] == [b"\x05\x00", b"\x05\x01", b"\x05\x82"]
    assert frags[0][2] == 256 - 71
    assert b"".join(f[2:] for f in frags)[1:] == K1_FRAME
    assert gatt.join_fragments(frags) == (5, -71, K1_FRAME)


@given(st.binary(max_size=255), st.none() | st.integers(-128, 126), st.integers(0, 255))
def test_raw_fragments_round_trip(frame: bytes, rssi: int | None, seq: int) -> None:
    frags = gatt.raw_fragments(seq, frame, rssi)
    assert all(len(f) <= 20 for f in frags)
    assert gatt.join_fragments(frags) == (seq, rssi, frame)


def test_join_fragments_detects_a_gap() -> None:
    frags = gatt.raw_fragments(1, bytes(60), None)
    with pytest.raises(ValueError, match="out of order"):
        gatt.join_fragments([frags[0], frags[2]])


def test_status_value() -> None:
    stats = {"radio_state": "up", "frames": 1234, "decoded": 1200, "bad_crc": True, "no_key": -1}
    s = gatt.status_from_stats("0.1.0", 3600.9, 3, stats)
    data = gatt.encode_status(s)
    assert data[:11] == bytes.fromhex("01000100100e0000010300")
    assert data[11:15] == struct.pack("<I", 1234)  # frames
    assert data[15:19] == b"\xff\xff\xff\xff"  # bad_crc: not a count
    # no health counts, no radio text: 3 x ff ff, then a 0-byte text
    assert data[43:] == b"\xff" * 6 + b"\x00"
    assert len(data) == 11 + 4 * len(gatt.STATUS_COUNTERS) + 6 + 1
    back = gatt.decode_status(data)
    assert back == s
    assert back.counters["decoded"] == 1200 and back.counters["no_key"] is None
    assert gatt.status_from_stats("x", -5, 0, {"radio_state": "weird"}).radio_state == "unknown"


def test_status_carries_meters_by_health_and_the_radio_text() -> None:
    text = "waiting for /dev/wmbus0: no such device"
    stats = {"meters": {"ok": 2, "silent": 1, "never_heard": 3}, "radio_status": text}
    data = gatt.encode_status(gatt.status_from_stats("0.1.0", 10, 6, stats))
    assert data[43:49] == struct.pack("<HHH", 2, 1, 3)
    assert data[49] == len(text) and data[50:] == text.encode()
    back = gatt.decode_status(data)
    assert back.health == {"ok": 2, "silent": 1, "never_heard": 3}
    assert back.radio_status == text
    old = gatt.decode_status(data[:43])  # a gateway from before the health fields
    assert old.health is None and old.radio_status is None and old.counters == back.counters


def test_a_long_radio_text_is_cut_at_a_character_boundary() -> None:
    text = "é" * 150  # 300 bytes of UTF-8
    data = gatt.encode_status(gatt.status_from_stats("0.1.0", 1, 0, {"radio_status": text}))
    assert data[49] == 200 and len(data) == 50 + 200
    assert gatt.decode_status(data).radio_status == "é" * 100
    odd = gatt.encode_status(gatt.status_from_stats("0.1.0", 1, 0, {"radio_status": "a" + text}))
    assert odd[49] == 199 and gatt.decode_status(odd).radio_status == "a" + "é" * 99


def test_health_bits_are_applied_when_a_record_is_served() -> None:
    rec = gatt.encode_record(
        gatt.ReadingRecord("76348799", 6408, 1795682430, 0x0001, None, None, 19, -71)
    )
    silent = gatt.decode_record(gatt.with_health(rec, "silent"))
    assert silent.status == 0x2001  # dry kept, bit 13 set
    never = gatt.with_health(gatt.with_health(rec, "never_heard"), "ok")
    assert never == rec


@pytest.mark.parametrize(
    ("gateway_id", "name"),
    [("gw1", "MS-gw1"), ("site-17", "MS-site-"), ("a-very-long-gateway-name", "MS-a-ver")],
)
def test_local_name_fits_legacy_advertising(gateway_id: str, name: str) -> None:
    assert gatt.local_name(gateway_id) == name
    adv = gatt.advertising_data(name)
    # flags (3) + complete list of 128-bit UUIDs (2 + 16) + complete local name (2 + n)
    assert len(adv) == 3 + 18 + 2 + len(name) <= 31
    assert adv[5:21] == uuid.UUID(gatt.SERVICE_UUID).bytes[::-1]
