"""Publish policy: changes and alarms at once, heartbeat otherwise; survives a JSON round trip."""

from __future__ import annotations

import json

from gatewayd.daemon.policy import PublishPolicy
from gatewayd.meters.model import Reading, from_dict


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
