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

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from gatewayd.meters.model import Reading

__all__ = ["DurableSink", "Reading", "Sink"]


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
