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
from typing import Any, Literal

from gatewayd.config.reader import ConfigError
from gatewayd.config.sections import (
    READ_INTERVAL_MS,
    BleSettings,
    DebugSettings,
    DedupSettings,
    GatewaySettings,
    HealthSettings,
    LogSettings,
    MeterSettings,
    MqttSettings,
    PublishSettings,
    StdoutSettings,
)
from gatewayd.radios.modes import ListenMode

__all__ = [
    "DEFAULT_PATH",
    "BleSettings",
    "Config",
    "ConfigError",
    "DebugSettings",
    "DedupSettings",
    "GatewaySettings",
    "HealthSettings",
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
    read_interval_ms: int = READ_INTERVAL_MS  # read at most this often: a batch per read
    name: str = ""  # how logs and stats name it; "" = KIND:DEVICE
    c1_frame: Literal["a", "b"] = "b"  # im871a only: the C1 frame format asked for in mode c1
    allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")  # tcp only: who may connect
    max_connections: int = 8  # tcp only
    max_line: int = 1024  # tcp only

    @property
    def label(self) -> str:
        return self.name or f"{self.kind}:{self.device}"

    def options(self) -> dict[str, Any]:
        """The kind's own settings, as the radio class takes them."""
        if self.kind == "im871a":
            return {"c1_frame": self.c1_frame}
        if self.kind == "tcp":
            return {
                "allow": self.allow,
                "max_connections": self.max_connections,
                "max_line": self.max_line,
            }
        return {}


# The keys every [radio] / [[radios]] table takes, and those only some kinds take.
RADIO_COMMON_KEYS = ("kind", "device", "mode", "silence_reset_s", "read_interval_ms", "name")
RADIO_KIND_KEYS: dict[str, tuple[str, ...]] = {
    "im871a": ("c1_frame",),
    "tcp": ("allow", "max_connections", "max_line"),
}


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    radio: RadioSettings = field(default_factory=RadioSettings)  # the first of `radios`
    radios: tuple[RadioSettings, ...] = ()  # [[radios]] (read `receivers`)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    meters: tuple[MeterSettings, ...] = ()
    mqtt: MqttSettings | None = None
    ble: BleSettings | None = None  # None also when [ble] enabled = false
    stdout: StdoutSettings = field(default_factory=StdoutSettings)
    log: LogSettings = field(default_factory=LogSettings)
    debug: DebugSettings = field(default_factory=DebugSettings)
    keys_file: Path | None = None
    _meters_by_id: Mapping[str, MeterSettings] = field(init=False, repr=False, compare=False)

    @property
    def receivers(self) -> tuple[RadioSettings, ...]:
        """Every radio to run: the [[radios]] tables, or the one [radio]."""
        return self.radios if len(self.radios) > 1 else (self.radio,)

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
