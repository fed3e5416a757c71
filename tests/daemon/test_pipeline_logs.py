"""A log line about a telegram that could not be decoded names its meter once: the pipeline
says which meter, the decoder's reason says why (not the meter again)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gatewayd.config.load import parse_config
from gatewayd.daemon.pipeline import Pipeline
from gatewayd.daemon.stats import Stats
from gatewayd.radios.base import LinkMode, RadioFrame
from gatewayd.wmbus.link import FrameFormat
from tests.meters.test_unread_data import UNKNOWN_VERSION

METER = "11776622"  # the meter of UNKNOWN_VERSION: a Techem layout no driver reads


def test_an_undecodable_telegram_names_its_meter_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = {
        "gateway": {"id": "gw", "state_dir": str(tmp_path)},
        "radio": {"kind": "im871a", "device": str(tmp_path / "tty"), "mode": "c1"},
        "meters": [{"id": METER, "name": "hall", "encrypted": False}],
    }
    pipeline = Pipeline(parse_config(data, tmp_path / "config.toml"), stats=Stats())
    frame = RadioFrame(bytes.fromhex(UNKNOWN_VERSION), -70.0, LinkMode.C1, FrameFormat.CLEAN, 0.0)
    with caplog.at_level(logging.DEBUG, logger="gatewayd"):
        assert pipeline.handle(frame) is None
    records = [r for r in caplog.records if "no driver reads" in r.getMessage()]
    assert {r.levelno for r in records} == {logging.DEBUG, logging.WARNING}
    for r in records:
        assert r.getMessage().count(METER) == 1, r.getMessage()
    (warning,) = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert f"from meter {METER} (hall): no driver reads" in warning
