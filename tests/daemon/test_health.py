"""The per-meter health state machine (gatewayd.daemon.health) with an injected clock."""

from __future__ import annotations

import pytest

from gatewayd.daemon.health import AUTO_MIN_S, HealthBoard, State, Watched

A, B = "11223344", "55667788"


def board(*meters: Watched, silent_after_s: float = 0.0) -> HealthBoard:
    return HealthBoard(meters, now=1000.0, silent_after_s=silent_after_s)


def states(b: HealthBoard) -> dict[str, str]:
    return {m.id: m.state.value for m in b}


def test_a_meter_never_heard_is_never_heard_after_120_s_and_only_once() -> None:
    b = board(Watched(A, "kitchen"))
    assert b.tick(1000.0 + AUTO_MIN_S - 0.5) == []
    assert states(b) == {A: "ok"}
    [t] = b.tick(1000.0 + AUTO_MIN_S)
    assert (t.meter.id, t.old, t.new, t.quiet_s) == (A, State.OK, State.NEVER_HEARD, 120.0)
    assert b.tick(1000.0 + 10_000) == []  # logged once, not per tick
    assert b.counts() == {"ok": 0, "silent": 0, "never_heard": 1}


def test_a_kamstrup_every_16_s_learns_16_s_and_is_silent_after_the_120_s_floor() -> None:
    b = board(Watched(A, "kitchen"))
    t = 1000.0
    for _ in range(10):
        t += 16.0
        assert b.heard(A, t, -70.0, seen_at=1_800_000_000 + t) is None
    m = b.get(A)
    assert m is not None and m.interval_s == 16.0 and m.telegrams == 10
    assert b.threshold(m) == AUTO_MIN_S  # 4 x 16 = 64 < 120
    assert b.tick(t + 119.9) == []
    [tr] = b.tick(t + 120.0)
    assert tr.new is State.SILENT and tr.quiet_s == 120.0
    assert m.last_seen == 1_800_000_000 + t and m.rssi_dbm == -70.0


def test_a_slow_meter_gets_4_times_its_interval() -> None:
    b = board(Watched(A, "tap"))
    for i in range(4):
        b.heard(A, 1000.0 + 450.0 * i, -80.0)  # every 7.5 min
    m = b.get(A)
    assert m is not None and b.threshold(m) == 1800.0
    last = 1000.0 + 450.0 * 3
    assert b.tick(last + 1799) == []
    assert [t.new for t in b.tick(last + 1800)] == [State.SILENT]


def test_duplicates_and_missed_telegrams_do_not_move_the_learnt_interval() -> None:
    """Copies that escape the dedup (a repeater, a second radio) come within a second; a weak
    link loses a telegram now and then (gaps of 32 and 48 s)."""
    b = board(Watched(A, "kitchen"))
    times = [0, 0.3, 16, 32, 32.2, 64, 80, 96, 144, 160, 160.5, 176]
    for t in times:
        b.heard(A, 1000.0 + t, -90.0)
    m = b.get(A)
    assert m is not None and m.interval_s == 16.0
    assert m.telegrams == len(times)  # every copy counted, only real gaps learnt


def test_a_silent_meter_that_comes_back_is_ok_and_the_silence_is_not_an_interval() -> None:
    b = board(Watched(A, "kitchen"))
    for i in range(5):
        b.heard(A, 1000.0 + 16 * i, -70.0)
    last = 1000.0 + 64
    assert [t.new for t in b.tick(last + 130)] == [State.SILENT]
    back = b.heard(A, last + 3600, -71.0)
    assert back is not None and (back.old, back.new, back.quiet_s) == (
        State.SILENT,
        State.OK,
        3600.0,
    )
    m = b.get(A)
    assert m is not None and m.interval_s == 16.0 and m.state is State.OK
    assert b.heard(A, last + 3616, -71.0) is None  # no second "back"


def test_a_never_heard_meter_heard_at_last_comes_back() -> None:
    b = board(Watched(A, "kitchen"))
    b.tick(1200.0)
    back = b.heard(A, 1300.0, None)
    assert back is not None and back.old is State.NEVER_HEARD and back.quiet_s == 300.0


@pytest.mark.parametrize(
    ("meter_s", "global_s", "expected"), [(30, 0, 30), (0, 45, 45), (30, 45, 30)]
)
def test_the_meters_silent_after_s_overrides_the_health_sections(
    meter_s: float, global_s: float, expected: float
) -> None:
    b = board(Watched(A, "kitchen", meter_s or None), silent_after_s=global_s)
    b.heard(A, 1000.0, -70.0)
    assert b.tick(1000.0 + expected - 0.1) == []
    assert [t.new for t in b.tick(1000.0 + expected)] == [State.SILENT]


def test_reload_keeps_history_drops_removed_and_starts_new_meters_waiting_from_now() -> None:
    b = board(Watched(A, "kitchen"), Watched(B, "hall"))
    b.heard(A, 1010.0, -70.0)
    b.heard(A, 1026.0, -70.0)
    c = "99999999"
    dropped = b.reload([Watched(A, "kitchen sink", 600), Watched(c, "new")], now=1100.0)
    assert [m.id for m in dropped] == [B]
    assert [m.id for m in b] == [A, c]
    a = b.get(A)
    assert a is not None and a.name == "kitchen sink" and a.telegrams == 2 and a.interval_s == 16
    assert b.tick(1100.0 + AUTO_MIN_S - 1) == []  # the new meter waits from the reload
    assert [(t.meter.id, t.new) for t in b.tick(1100.0 + AUTO_MIN_S)] == [(c, State.NEVER_HEARD)]
    assert b.heard(B, 1300.0, -60.0) is None  # no longer watched


def test_unknown_meters_are_ignored() -> None:
    b = board(Watched(A, "kitchen"))
    assert b.heard("00000000", 1001.0, -70.0) is None
    assert b.counts() == {"ok": 1, "silent": 0, "never_heard": 0}


def test_an_interval_learnt_by_the_previous_run_counts_from_the_start() -> None:
    """A meter that sends every 15 min is not called never heard 2 min after a restart."""
    first = board(Watched(A, "tap"))
    for i in range(3):
        first.heard(A, 1000.0 + 900.0 * i, -80.0)
    saved = first.intervals()
    assert saved == {A: 900.0}
    again = board(Watched(A, "tap"), Watched(B, "new"))
    again.restore({**saved, B: float("nan"), "99999999": 60.0})
    assert [(t.meter.id, t.new) for t in again.tick(1000.0 + AUTO_MIN_S)] == [
        (B, State.NEVER_HEARD)
    ]
    assert again.tick(1000.0 + 3599) == []
    assert [t.new for t in again.tick(1000.0 + 3600)] == [State.NEVER_HEARD]


def test_meters_not_yet_heard_or_listed_count_and_go_never_heard_like_the_others() -> None:
    # Nothing but tick/counts touches these meters: the entries are built as they go silent.
    ids = [f"{i:08x}" for i in range(1000)]
    b = HealthBoard([Watched(i, f"m{i}", 300.0 if n % 2 else None) for n, i in enumerate(ids)], 0.0)
    assert b.counts() == {"ok": 1000, "silent": 0, "never_heard": 0}
    assert b.tick(AUTO_MIN_S - 0.5) == []
    gone = b.tick(AUTO_MIN_S)  # the default threshold: the even ones
    assert [t.meter.id for t in gone] == ids[0::2]
    assert {(t.new, t.quiet_s) for t in gone} == {(State.NEVER_HEARD, AUTO_MIN_S)}
    assert b.counts() == {"ok": 500, "silent": 0, "never_heard": 500}
    assert [t.meter.id for t in b.tick(300.0)] == ids[1::2]  # their own silent_after_s
    assert b.counts() == {"ok": 0, "silent": 0, "never_heard": 1000}


def test_the_meters_are_listed_in_config_order_whichever_was_heard_first() -> None:
    ids = [f"{i:08x}" for i in range(10)]
    b = HealthBoard([Watched(i, i) for i in ids], 0.0)
    b.heard(ids[7], 1.0, -70.0)
    assert b.get(ids[3]) is not None
    assert [m.id for m in b] == ids
    assert [(m.id, m.telegrams, m.rssi_dbm) for m in b if m.telegrams] == [(ids[7], 1, -70.0)]


def test_a_reload_keeps_a_waiting_meters_wait_and_updates_its_name_and_threshold() -> None:
    b = HealthBoard([Watched(A, "kitchen"), Watched(B, "cellar")], 0.0)
    dropped = b.reload([Watched(A, "kitchen 2", 50.0)], 40.0)  # neither heard nor listed yet
    assert [(m.id, m.name, m.since) for m in dropped] == [(B, "cellar", 0.0)]
    assert b.tick(49.0) == []
    [t] = b.tick(50.0)  # 50 s since the start, not since the reload
    assert (t.meter.id, t.meter.name, t.new, t.quiet_s) == (A, "kitchen 2", State.NEVER_HEARD, 50.0)
