"""Dedup (key: id, access number, CRC-32 of the frame): the same telegram within the window is
a duplicate; repeater bits masked."""

from __future__ import annotations

from pathlib import Path

from gatewayd.config.schema import Config, DedupSettings
from gatewayd.daemon.pipeline import Pipeline
from gatewayd.daemon.stats import Stats
from gatewayd.radios.base import LinkMode, RadioFrame
from gatewayd.wmbus.dedup import Dedup, dedup_key
from gatewayd.wmbus.link import FrameFormat

ADDR = bytes.fromhex("2D2C998734761B16")  # KAM 76348799 v1B cold water


def ell_frame(cc: int = 0x20, acc: int = 0x91, sn: int = 0x21AC7CD3, payload: bytes = b"") -> bytes:
    body = bytes([0x8D, cc, acc]) + sn.to_bytes(4, "little") + (payload or bytes(range(20)))
    return bytes([1 + len(ADDR) + len(body), 0x44]) + ADDR + body


def tpl_frame(cfg_lo: int = 0x20, acc: int = 0x2A, payload: bytes = bytes(16)) -> bytes:
    body = bytes([0x7A, acc, 0x00, cfg_lo, 0x25]) + payload
    return bytes([1 + len(ADDR) + len(body), 0x44]) + ADDR + body


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_copy_within_window_is_duplicate_and_after_window_is_new() -> None:
    clock = Clock()
    d = Dedup(60, clock=clock)
    f = ell_frame()
    assert d.is_duplicate(f) is False
    clock.t += 59.9
    assert d.is_duplicate(f) is True
    clock.t += 0.2  # 60.1 s after the first copy
    assert d.is_duplicate(f) is False


def test_repeater_bits_are_masked() -> None:
    d = Dedup(60, clock=Clock())
    assert d.is_duplicate(ell_frame(cc=0x20)) is False
    assert d.is_duplicate(ell_frame(cc=0x30)) is True  # H (hop) set by a repeater
    assert d.is_duplicate(ell_frame(cc=0x22)) is True  # R (repeated access)
    assert d.is_duplicate(ell_frame(cc=0x28)) is False  # P (priority) is not a repeater bit
    assert d.is_duplicate(tpl_frame(cfg_lo=0x20)) is False
    assert d.is_duplicate(tpl_frame(cfg_lo=0x21)) is True  # TPL CFG HC
    assert d.is_duplicate(tpl_frame(cfg_lo=0x22)) is True  # TPL CFG RA
    assert d.is_duplicate(tpl_frame(cfg_lo=0x30)) is False  # N blocks differ: another telegram


def test_new_access_number_session_or_payload_is_a_new_telegram() -> None:
    d = Dedup(60, clock=Clock())
    assert d.is_duplicate(ell_frame()) is False
    assert d.is_duplicate(ell_frame(acc=0x92)) is False
    assert d.is_duplicate(ell_frame(sn=0x21AC7CD4)) is False
    assert d.is_duplicate(ell_frame(payload=bytes(range(1, 21)))) is False
    other_meter = bytearray(ell_frame())
    other_meter[4] ^= 0x01
    assert d.is_duplicate(bytes(other_meter)) is False


def test_c_field_is_ignored() -> None:
    d = Dedup(60, clock=Clock())
    f = ell_frame()
    assert d.is_duplicate(f) is False
    assert d.is_duplicate(f[:1] + b"\x46" + f[2:]) is True


def test_memory_is_bounded_oldest_forgotten_first() -> None:
    clock = Clock()
    d = Dedup(60, max_entries=16, clock=clock)
    frames = [ell_frame(acc=i) for i in range(20)]
    for f in frames:
        assert d.is_duplicate(f) is False
    assert len(d) == 16
    assert d.is_duplicate(frames[19]) is True
    assert d.is_duplicate(frames[0]) is False  # evicted, so seen as new


def test_expired_entries_are_dropped() -> None:
    clock = Clock()
    d = Dedup(10, clock=clock)
    for i in range(5):
        d.is_duplicate(ell_frame(acc=i))
    clock.t += 11
    d.is_duplicate(ell_frame(acc=99))
    assert len(d) == 1


def test_key_never_raises_on_garbage() -> None:
    for junk in (
        b"",
        b"\x01",
        bytes(10),
        bytes([0x0B, 0x44, *bytes(8), 0x8D]),
        bytes(12) + b"\x90",
    ):
        assert isinstance(dedup_key(junk), bytes)
    assert dedup_key(bytes(10)) != dedup_key(bytes(9))


def test_a_reload_applies_dedup_max_entries() -> None:
    """[dedup] max_entries changed by a reload bounds the memory from the next frame on."""

    def heard(frame: bytes) -> RadioFrame:
        return RadioFrame(frame, -70.0, LinkMode.C1, FrameFormat.CLEAN, 0.0)

    config = Config(path=Path("/nonexistent/config.toml"), dedup=DedupSettings(max_entries=100))
    pipeline = Pipeline(config, stats=Stats())
    for acc in range(40):
        pipeline.handle(heard(ell_frame(acc=acc)))
    assert len(pipeline.dedup) == 40
    pipeline.reload(Config(path=config.path, dedup=DedupSettings(max_entries=16)))
    pipeline.handle(heard(ell_frame(acc=200)))
    assert len(pipeline.dedup) == 16
    assert pipeline.dedup.is_duplicate(ell_frame(acc=200))  # the newest are kept
    assert not pipeline.dedup.is_duplicate(ell_frame(acc=0))  # the oldest forgotten
