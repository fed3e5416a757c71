"""What the decoder keeps between telegrams (compact-format plans, Records already made from
given bytes, constant headers) must never stand in for what a telegram's own bytes say."""

from __future__ import annotations

import dataclasses

import pytest

from gatewayd.meters.reading import build_reading
from gatewayd.wmbus import compact as compact_mod
from gatewayd.wmbus.crc import crc16_en13757
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.encode import kamstrup_c1
from gatewayd.wmbus.errors import FrameError
from gatewayd.wmbus.frozen import slot_setters
from gatewayd.wmbus.headers import Headers
from gatewayd.wmbus.telegram import Telegram

KEY = bytes.fromhex("5A1B0C3D4E2F60718293A4B5C6D7E8F9")
METER = "11112222"


def _recs(total_l: int, temp: int, vif: str = "13") -> list[tuple[str, bytes]]:
    return [("04" + vif, total_l.to_bytes(4, "little")), ("023B", temp.to_bytes(2, "little"))]


def _frame(total_l: int, temp: int, *, compact: bool, acc: int, vif: str = "13") -> bytes:
    return kamstrup_c1(
        meter_id=METER, key=KEY, records=_recs(total_l, temp, vif), compact=compact, acc=acc
    )


def _values(d: Decoder, frame: bytes) -> list[object]:
    return [r.value for r in d.decode(frame).records]


def _refix_payload_crc(frame: bytearray) -> bytes:
    """Recompute the (clear) ELL payload CRC of an unencrypted Kamstrup C1 frame."""
    frame[17:19] = crc16_en13757(bytes(frame[19:])).to_bytes(2, "little")
    return bytes(frame)


def test_same_format_different_values_each_from_its_own_bytes() -> None:
    d = Decoder(keys={METER: KEY})
    d.decode(_frame(1000, 25, compact=False, acc=1))
    # VIF 13: litres -> m3; VIF 3B: l/h -> m3/h (expected values from the encoder's inputs)
    assert _values(d, _frame(1000, 25, compact=True, acc=2)) == [1.0, 0.025]
    assert _values(d, _frame(2500, 25, compact=True, acc=3)) == [2.5, 0.025]
    assert _values(d, _frame(1000, 40, compact=True, acc=4)) == [1.0, 0.04]
    assert _values(d, _frame(1000, 25, compact=True, acc=5)) == [1.0, 0.025]


def test_many_distinct_values_past_the_bound_stay_exact() -> None:
    d = Decoder(keys={METER: KEY})
    d.decode(_frame(0, 0, compact=False, acc=1))
    n = compact_mod.MAX_KNOWN_VALUES * 2 + 7
    for i in range(n):
        assert _values(d, _frame(1000 + i, i, compact=True, acc=i)) == [
            (1000 + i) / 1000,
            i / 1000,
        ]


def test_a_layout_change_is_not_hidden_by_known_bytes() -> None:
    """The same data bytes under another header (VIF 14: 10 l units) mean another value."""
    d = Decoder(keys={METER: KEY})
    d.decode(_frame(1000, 25, compact=False, acc=1))
    assert _values(d, _frame(1000, 25, compact=True, acc=2)) == [1.0, 0.025]
    d.decode(_frame(1000, 25, compact=False, acc=3, vif="14"))  # the meter's new layout
    t = d.decode(_frame(1000, 25, compact=True, acc=4, vif="14"))
    assert [r.value for r in t.records] == [10.0, 0.025]
    assert [r.header.difvif.hex() for r in t.records] == ["0414", "023b"]
    # the old layout still decodes as itself
    assert _values(d, _frame(1000, 25, compact=True, acc=5)) == [1.0, 0.025]


def test_a_wrong_full_frame_crc_is_caught_when_every_value_is_known() -> None:
    d = Decoder()
    recs = _recs(1000, 25)
    d.decode(kamstrup_c1(meter_id=METER, key=None, records=recs, acc=1))
    good = kamstrup_c1(meter_id=METER, key=None, records=recs, compact=True, acc=2)
    assert [r.value for r in d.decode(good).records] == [1.0, 0.025]  # every value now known
    bad = bytearray(good)
    bad[22] ^= 0x01  # the FCRC itself: same data bytes, same signature
    with pytest.raises(FrameError, match="full-frame CRC"):
        d.decode(_refix_payload_crc(bad))
    flipped = bytearray(good)
    flipped[-1] ^= 0x01  # a data byte, FCRC as it was
    with pytest.raises(FrameError, match="full-frame CRC"):
        d.decode(_refix_payload_crc(flipped))
    assert [r.value for r in d.decode(good).records] == [1.0, 0.025]


def test_a_wrong_key_after_cached_plans_is_still_an_error() -> None:
    from gatewayd.wmbus.errors import WrongKeyError

    d = Decoder(keys={METER: KEY})
    d.decode(_frame(1000, 25, compact=False, acc=1))
    d.decode(_frame(1000, 25, compact=True, acc=2))
    other = bytes(16)
    with pytest.raises(WrongKeyError):
        d.decode(_frame(1000, 25, compact=True, acc=3), key=other)


def _all_fields(obj: object) -> list[object]:
    return [getattr(obj, f.name) for f in dataclasses.fields(obj)]  # type: ignore[arg-type]


def test_hot_path_objects_are_what_their_init_makes() -> None:
    d = Decoder(keys={METER: KEY})
    for frame in (_frame(1000, 25, compact=False, acc=1), _frame(7, 3, compact=True, acc=2)):
        t = d.decode(frame)
        assert type(t) is Telegram and type(t.headers) is Headers
        again = dataclasses.replace(t)  # through Telegram.__init__
        assert _all_fields(again) == _all_fields(t)
        assert t.headers is not None
        assert _all_fields(dataclasses.replace(t.headers)) == _all_fields(t.headers)
        assert t.ell is not None and t.ell.session is not None
        assert _all_fields(dataclasses.replace(t.ell)) == _all_fields(t.ell)
        reading = build_reading(t, received_at=1.0)
        assert _all_fields(dataclasses.replace(reading)) == _all_fields(reading)
        assert reading.json_bytes() == reading.json_bytes()  # the memo list is its own
        with pytest.raises(dataclasses.FrozenInstanceError):
            t.ci = 0  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            reading.name = "x"  # type: ignore[misc]


def test_slot_setters_refuse_a_wrong_field_order() -> None:
    names = tuple(f.name for f in dataclasses.fields(Headers))
    assert len(slot_setters(Headers, *names)) == len(names)
    with pytest.raises(TypeError, match="builder names"):
        slot_setters(Headers, *names[1::-1], *names[2:])
    with pytest.raises(TypeError, match="builder names"):
        slot_setters(Headers, *names[:-1])
