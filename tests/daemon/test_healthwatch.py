"""The daemon's health watch: one log line per transition with its journal fields, and what the
sinks that show health are given (pushes on change, removals on reload)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pytest

from gatewayd.config.schema import Config, HealthSettings, MeterSettings
from gatewayd.daemon.healthwatch import HealthWatch
from gatewayd.radios.base import LinkMode, RadioFrame
from gatewayd.sinks.base import HealthReport, HealthSink, HealthSource
from gatewayd.wmbus.link import FrameFormat

A, B = "11223344", "55667788"


class Recorder:
    def __init__(self) -> None:
        self.pushed: list[tuple[list[HealthReport], list[str]]] = []
        self.source: HealthSource | None = None

    def attach_health(self, source: HealthSource) -> None:
        self.source = source

    def health_changed(self, reports: Sequence[HealthReport], removed: Sequence[str] = ()) -> None:
        self.pushed.append((list(reports), list(removed)))


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def config(*meters: MeterSettings, silent_after_s: float = 30.0) -> Config:
    return Config(Path("c.toml"), meters=meters, health=HealthSettings(silent_after_s))


def frame(rssi: float = -70.0) -> RadioFrame:
    return RadioFrame(b"\x00", rssi, LinkMode.C1, FrameFormat.CLEAN, 1_795_682_430.0)


def test_transitions_are_logged_once_with_journal_fields_and_pushed_to_sinks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    meters = (MeterSettings(A, "kitchen", encrypted=False), MeterSettings(B, "cellar"))
    watch = HealthWatch(config(*meters), clock=clock)
    sink = Recorder()
    assert isinstance(sink, HealthSink)
    watch.attach([sink, object()])  # sinks without health are left alone
    assert [r.state for r in sink.pushed[0][0]] == ["ok", "ok"]  # every meter at start
    assert sink.source is not None
    caplog.set_level(logging.INFO, logger="gatewayd")
    watch.heard(A, frame())
    clock.t += 30
    watch.tick()
    watch.tick()  # nothing new: no second line
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    text = {r.METER_ID: r.getMessage() for r in warnings}  # type: ignore[attr-defined]
    assert "kitchen" in text[A] and "is silent" in text[A]
    assert "cellar" in text[B] and "never heard" in text[B]
    assert {r.GATEWAYD_EVENT for r in warnings} == {"meter_silent"}  # type: ignore[attr-defined]
    assert [r.state for r in sink.pushed[-1][0]] == ["silent", "never_heard"]
    assert watch.counts() == {"ok": 0, "silent": 1, "never_heard": 1}
    assert watch.summary() == "meters 0 ok, 1 silent, 1 never heard"
    watch.heard(A, frame(-65.0))
    (back,) = [r for r in caplog.records if r.levelno == logging.INFO]
    assert back.GATEWAYD_EVENT == "meter_back" and back.METER_ID == A  # type: ignore[attr-defined]
    (report,) = sink.pushed[-1][0]
    assert (report.state, report.rssi_dbm, report.telegrams) == ("ok", -65.0, 2)
    assert report.last_seen == 1_795_682_430.0


def test_reload_pushes_new_meters_and_removals() -> None:
    clock = Clock()
    watch = HealthWatch(config(MeterSettings(A, "kitchen")), clock=clock)
    sink = Recorder()
    watch.attach([sink])
    watch.reload(config(MeterSettings(B, "cellar")))
    reports, removed = sink.pushed[-1]
    assert [r.id for r in reports] == [B] and removed == [A]
    assert sink.source is not None and [r.id for r in sink.source()] == [B]
