"""Publish policy: changes and alarms at once, heartbeat otherwise; survives a JSON round trip."""

from __future__ import annotations

import json
import math
import struct

import pytest

from gatewayd.daemon.policy import PublishPolicy
from gatewayd.meters.model import Reading, from_dict
from gatewayd.meters.reading import build_reading
from gatewayd.wmbus.decode import Decoder
from gatewayd.wmbus.encode import oms_mode5


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        return self.t


def reading(total: float = 6.408, leak: bool = False, rssi: int = -71, ts: str = "t0") -> Reading:
    return from_dict(
        {
            "id": "76348799",
            "total_m3": total,
            "rssi_dbm": rssi,
            "timestamp": ts,
            "alarms": {"dry": False, "leak": leak},
        }
    )


def test_first_then_unchanged_then_changed() -> None:
    clock = Clock()
    p = PublishPolicy(900, clock=clock)
    assert p.decide("76348799", reading()).reason == "first"
    clock.t += 16
    d = p.decide("76348799", reading(rssi=-80, ts="t1"))
    assert (d.publish, d.reason) == (False, "unchanged")
    clock.t += 16
    d = p.decide("76348799", reading(total=6.409, ts="t2"))
    assert (d.publish, d.alarm_changed, d.reason) == (True, False, "changed")


def test_heartbeat_after_heartbeat_s_since_last_publish() -> None:
    clock = Clock()
    p = PublishPolicy(900, clock=clock)
    p.decide("a", reading())
    clock.t += 899
    assert p.decide("a", reading()).publish is False
    clock.t += 1
    d = p.decide("a", reading())
    assert (d.publish, d.reason) == (True, "heartbeat")
    clock.t += 10
    assert p.decide("a", reading()).publish is False  # the heartbeat restarted the period


def test_alarm_change_is_flagged_both_ways() -> None:
    clock = Clock()
    p = PublishPolicy(900, clock=clock)
    p.decide("a", reading())
    d = p.decide("a", reading(leak=True))
    assert (d.publish, d.alarm_changed, d.reason) == (True, True, "alarm")
    assert p.decide("a", reading(leak=True)).publish is False
    d = p.decide("a", reading(leak=False))
    assert (d.publish, d.alarm_changed) == (True, True)


def test_first_reading_with_an_active_alarm_is_flagged() -> None:
    p = PublishPolicy(900, clock=Clock())
    assert p.decide("a", reading(leak=True)).alarm_changed is True
    assert p.decide("b", reading()).alarm_changed is False


def test_meters_are_independent_and_memory_bounded() -> None:
    p = PublishPolicy(900, max_meters=2, clock=Clock())
    p.decide("a", reading())
    p.decide("b", reading())
    assert p.decide("a", reading()).publish is False
    p.decide("c", reading())  # evicts b (least recently heard)
    assert p.decide("b", reading()).reason == "first"


def test_snapshot_restores_suppression_after_restart() -> None:
    clock = Clock()
    p = PublishPolicy(900, clock=clock)
    p.decide("a", reading())
    saved = json.loads(json.dumps(p.snapshot()))
    clock.t += 100
    q = PublishPolicy(900, clock=clock)
    q.restore(saved)
    assert q.decide("a", reading(ts="later")).publish is False
    clock.t += 800
    assert q.decide("a", reading()).reason == "heartbeat"
    q.restore({"bad": {"values": 1}})  # malformed entries are skipped
    assert q.decide("bad", reading()).reason == "first"


def test_field_and_alarm_order_do_not_count_as_a_change() -> None:
    # A meter memory restored from disk may list fields and alarms in another order.
    p = PublishPolicy(3600, clock=Clock())
    p.decide(
        "a",
        from_dict(
            {
                "id": "76348799",
                "total_m3": 1,
                "target_m3": 2,
                "alarms": {"dry": False, "leak": True},
            }
        ),
    )
    q = PublishPolicy(3600, clock=Clock())
    q.restore(json.loads(json.dumps(p.snapshot(), sort_keys=True)))
    swapped = from_dict(
        {"id": "76348799", "target_m3": 2, "total_m3": 1, "alarms": {"leak": True, "dry": False}}
    )
    assert p.decide("a", swapped).publish is False
    assert q.decide("a", swapped).publish is False
    assert q.decide("a", from_dict({"id": "76348799", "target_m3": 2, "total_m3": 1.5})).publish


def _with_records(*records: tuple[str, object], warnings: tuple[str, ...] = ()) -> Reading:
    base = {"quantity": "volume", "unit": "m3", "storage": 0, "tariff": 0, "subunit": 0}
    recs = [{**base, "difvif": d, "value": v, "function": "instantaneous"} for d, v in records]
    return from_dict({"id": "76348799", "total_m3": 1, "records": recs, "warnings": warnings})


def test_records_and_warnings_are_compared_value_by_value() -> None:
    # The named fields stay the same; what the records or the warnings say decides.
    clock = Clock()
    p = PublishPolicy(900, clock=clock)
    assert p.decide("a", _with_records(("0413", 1), ("4413", 2))).reason == "first"
    assert p.decide("a", _with_records(("0413", 1), ("4413", 2))).reason == "unchanged"
    assert p.decide("a", _with_records(("0413", 1), ("4413", 3))).reason == "changed"
    assert p.decide("a", _with_records(("0413", 1), ("4414", 3))).reason == "changed"
    assert p.decide("a", _with_records(("0413", 1))).reason == "changed"
    assert p.decide("a", _with_records(("0413", 1.0))).reason == "unchanged"  # 1 == 1.0
    assert p.decide("a", _with_records(("0413", 1.0), warnings=("w",))).reason == "changed"
    saved = json.loads(json.dumps(p.snapshot()))
    q = PublishPolicy(900, clock=clock)
    q.restore(saved)
    assert q.decide("a", _with_records(("0413", 1.0), warnings=("w",))).reason == "unchanged"
    assert q.decide("a", _with_records(("0413", 2), warnings=("w",))).reason == "changed"


# ---- after a restart the memory compares as == does (values from a restored snapshot)


def _restarted(p: PublishPolicy, clock: Clock) -> PublishPolicy:
    """A new policy with p's memory, through the JSON of the state file, as after a restart."""
    q = PublishPolicy(p.heartbeat_s, clock=clock)
    q.restore(json.loads(json.dumps(p.snapshot(), separators=(",", ":"), sort_keys=True)))
    return q


def _flow_meter(flow: bytes) -> Reading:
    """A decoded OMS water meter: a total, and the flow as a 32-bit real (data code 5)."""
    records = [("0413", (6408).to_bytes(4, "little")), ("053B", flow)]
    frame = oms_mode5(
        manufacturer="ABC", meter_id="12345678", version=1, device_type=0x07, key=None,
        records=records,
    )  # fmt: skip
    return build_reading(Decoder().decode(frame))


def test_a_decoded_zero_and_minus_zero_are_the_same_after_a_restart_too() -> None:
    # A meter sends its flow of 0 as +0.0 and as -0.0 (the sign bit of an IEEE real): == and
    # the policy before the restart take them as the same value; so must the restored memory.
    plus, minus = struct.pack("<f", 0.0), struct.pack("<f", -0.0)
    assert _flow_meter(plus).records[1].value == _flow_meter(minus).records[1].value == 0
    clock = Clock()
    p = PublishPolicy(900, clock=clock)
    assert p.decide("12345678", _flow_meter(plus)).reason == "first"
    q = _restarted(p, clock)
    clock.t += 16
    assert p.decide("12345678", _flow_meter(minus)).reason == "unchanged"
    assert q.decide("12345678", _flow_meter(minus)).reason == "unchanged"
    q = _restarted(p, clock)
    assert q.decide("12345678", _flow_meter(struct.pack("<f", 0.5))).reason == "changed"


@pytest.mark.parametrize(
    ("before", "after", "reason"),
    [
        (1, 1.0, "unchanged"),
        (0, -0.0, "unchanged"),
        (1.0, 1, "unchanged"),
        (2**60, float(2**60), "unchanged"),
        (2**60 + 1, float(2**60), "changed"),  # == tells them apart: so must the memory
        (1, "1", "changed"),
        (0, None, "changed"),
        (0.1, 0.1000000000000001, "changed"),
        (float("nan"), float("nan"), "changed"),  # a NaN is == to nothing but itself
    ],
)
def test_restored_memory_agrees_with_eq(before: object, after: object, reason: str) -> None:
    clock = Clock()
    p = PublishPolicy(900, clock=clock)
    p.decide("a", _with_records(("0413", before)))
    q = _restarted(p, clock)
    clock.t += 16
    assert p.decide("a", _with_records(("0413", after))).reason == reason  # in memory
    assert q.decide("a", _with_records(("0413", after))).reason == reason  # restored
    if isinstance(before, float) and math.isnan(before):
        return  # a NaN is no field's value (from_dict refuses it, as the JSON payload would)
    named = from_dict({"id": "76348799", "total_m3": after})
    r = PublishPolicy(900, clock=clock)
    r.decide("b", from_dict({"id": "76348799", "total_m3": before}))
    assert _restarted(r, clock).decide("b", named).reason == reason  # a named field too


def test_a_state_file_of_the_previous_release_still_suppresses() -> None:
    # The policy's part of meters.json as the previous release wrote it for reading(total=6.0):
    # its digest of repr() (6.0, where the new digest takes the 6 it equals), which that
    # reading must still match after the upgrade.
    entry = {"digest": "0417b0b021904a90916a917468afd531", "published_at": 1700000000.0}
    old = {"76348799": {**entry, "alarms": {"dry": False, "leak": False}}}
    clock = Clock()
    clock.t += 16
    for saved_again_before_heard in (False, True):
        q = PublishPolicy(900, clock=clock)
        q.restore(old)
        if saved_again_before_heard:  # still the old digest, and said so
            q = _restarted(q, clock)
        assert q.decide("76348799", reading(total=6.0, ts="later")).reason == "unchanged"
        assert _restarted(q, clock).decide("76348799", reading(total=6)).reason == "unchanged"
    q = PublishPolicy(900, clock=clock)
    q.restore(old)
    assert q.decide("76348799", reading(total=6.5)).reason == "changed"
    assert _restarted(q, clock).decide("76348799", reading(total=6.5)).reason == "unchanged"
    q = PublishPolicy(900, clock=clock)
    q.restore({"76348799": {**old["76348799"], "digest_version": 3}})  # newer: not understood
    assert q.decide("76348799", reading(total=6.0)).reason == "first"
