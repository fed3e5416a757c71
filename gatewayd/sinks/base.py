"""The interface every sink implements. A slow or dead sink never stalls the radio.

The pipeline calls `publish()` from the event loop for each reading that the publish policy lets
through: a typed, frozen `gatewayd.meters.model.Reading` (`reading.json_bytes()` is its
documented JSON, encoded once however many sinks ask). publish() must return at once (queue or
persist, never await the network) and never raise. `raw()` hands over each received telegram as
it arrived (still encrypted), for sinks that forward raw telegrams (BLE); most sinks ignore it.
`start()` launches the sink's own supervisor task(s); `stop()` drains what it can within
`timeout` seconds and closes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

if TYPE_CHECKING:
    from gatewayd.meters.model import Reading

__all__ = [
    "DurableSink",
    "HealthReport",
    "HealthSink",
    "HealthSource",
    "Reading",
    "Sink",
    "StatsProvider",
]

# The daemon's counters for the sinks that show them (MQTT stats topic, BLE Status).
StatsProvider = Callable[[], Mapping[str, Any]]


def __getattr__(name: str) -> object:
    """`Reading` on first use: the decode side is not imported before READY=1."""
    if name == "Reading":
        from gatewayd.meters.model import Reading  # noqa: PLC0415

        return Reading
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Sink(Protocol):
    name: str

    async def start(self) -> None: ...

    def publish(self, reading: Reading, *, alarm_changed: bool = False) -> None: ...

    def raw(self, frame: bytes, rssi_dbm: float | None) -> None: ...

    def stats(self) -> dict[str, int]: ...

    async def stop(self, timeout: float) -> None: ...


@runtime_checkable
class DurableSink(Sink, Protocol):
    """A sink that keeps readings on disk (the MQTT outbox). When one is configured, the daemon
    gives a reading to the other sinks only after `store()` has it on disk and fsynced:
    `stage()` turns one reading into what will be stored (on the loop, may raise ValueError),
    `store()` commits a batch of staged readings at once and raises SinkError on failure."""

    def stage(self, reading: Reading, *, alarm_changed: bool = False) -> Any: ...

    async def store(self, staged: Sequence[Any]) -> None: ...


class HealthReport(NamedTuple):  # immutable: a NamedTuple is defined ~10x faster (start-up)
    """One configured meter's health (docs/mqtt.md, "Per-meter health")."""

    id: str
    name: str
    state: str  # "ok" | "silent" | "never_heard"
    last_seen: float | None  # Unix seconds of its last telegram; None: not heard since start
    interval_s: float | None  # learnt interval between its telegrams; None: not learnt yet
    rssi_dbm: float | None  # of its last telegram
    telegrams: int  # heard since start (after the dedup)


HealthSource = Callable[[], Sequence[HealthReport]]


@runtime_checkable
class HealthSink(Protocol):
    """A sink that shows per-meter health. The daemon calls `attach_health(source)` once (the
    sink may call `source()` for every meter's current health whenever it likes, e.g. on a
    read or with its stats), then `health_changed(reports, removed)` whenever meters change
    state (`reports`: those meters now) or leave the config (`removed`: their ids). Both
    return at once and never raise."""

    def attach_health(self, source: HealthSource) -> None: ...

    def health_changed(
        self, reports: Sequence[HealthReport], removed: Sequence[str] = ()
    ) -> None: ...
