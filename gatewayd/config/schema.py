"""The whole configuration as one frozen value: `Config`, its sections, and `RadioSettings`.

The sections that do not depend on the radios live in `gatewayd.config.sections` (the sinks
import those); this module adds the radio section (its mode is a `ListenMode`) and the
`Config` that holds them all, with the meters indexed by id. `gatewayd.config.load` builds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from gatewayd.config.reader import ConfigError
from gatewayd.config.sections import (
    BleSettings,
    DebugSettings,
    DedupSettings,
    GatewaySettings,
    LogSettings,
    MeterSettings,
    MqttSettings,
    PublishSettings,
    StdoutSettings,
)
from gatewayd.radios.base import ListenMode

__all__ = [
    "DEFAULT_PATH",
    "BleSettings",
    "Config",
    "ConfigError",
    "DebugSettings",
    "DedupSettings",
    "GatewaySettings",
    "ListenMode",
    "LogSettings",
    "MeterSettings",
    "MqttSettings",
    "PublishSettings",
    "RadioSettings",
    "StdoutSettings",
]

DEFAULT_PATH = Path("/etc/gatewayd/config.toml")


@dataclass(frozen=True, slots=True)
class RadioSettings:
    kind: str = "im871a"  # a kind of gatewayd.radios.registry (canonical name, aliases resolved)
    device: str = "/dev/wmbus0"
    mode: ListenMode = ListenMode.C1
    silence_reset_s: float = 600.0


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    radio: RadioSettings = field(default_factory=RadioSettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    meters: tuple[MeterSettings, ...] = ()
    mqtt: MqttSettings | None = None
    ble: BleSettings | None = None  # None also when [ble] enabled = false
    stdout: StdoutSettings = field(default_factory=StdoutSettings)
    log: LogSettings = field(default_factory=LogSettings)
    debug: DebugSettings = field(default_factory=DebugSettings)
    keys_file: Path | None = None
    _meters_by_id: Mapping[str, MeterSettings] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # One dict built once per config (and per reload), not a scan per telegram.
        by_id = MappingProxyType({m.id: m for m in self.meters})
        object.__setattr__(self, "_meters_by_id", by_id)

    def meter(self, meter_id: str) -> MeterSettings | None:
        found = self._meters_by_id.get(meter_id)
        return found if found is not None else self._meters_by_id.get(meter_id.lower())

    def keys(self) -> dict[str, bytes]:
        """Meter id -> key bytes, for the decoder."""
        return {m.id: m.key.raw for m in self.meters if m.key is not None}
