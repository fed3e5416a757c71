"""What the MQTT sink needs, as one frozen value the daemon builds from config.toml [mqtt]."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Protocol = Literal["3.1.1", "5"]


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """DESIGN.md §4.5 `[mqtt]` keys, plus `gateway_id` and `state_dir` from `[gateway]`.

    `password` is excluded from repr. Timing knobs below `protocol` have production defaults;
    tests shorten them.
    """

    gateway_id: str
    state_dir: Path
    host: str = "localhost"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: Path | None = None  # None with tls: the system's trusted CAs
    cert_file: Path | None = None  # client certificate (PEM), optional
    key_file: Path | None = None  # its private key; None: the key is inside cert_file
    client_id: str | None = None  # None: "gatewayd-<gateway_id>"
    prefix: str = "metersync"
    ha_discovery: bool = False
    ha_prefix: str = "homeassistant"
    outbox_max: int = 100_000
    keepalive: int = 60
    protocol: Protocol = "3.1.1"
    stats_interval_s: float = 60.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    connect_timeout_s: float = 10.0
    max_inflight: int = 64

    def __post_init__(self) -> None:
        if self.protocol not in ("3.1.1", "5"):
            raise ValueError(f"mqtt protocol must be '3.1.1' or '5', not {self.protocol!r}")
        if self.outbox_max < 1:
            raise ValueError("mqtt outbox_max must be at least 1")
        if not 0 < self.reconnect_min_s <= self.reconnect_max_s:
            raise ValueError("mqtt reconnect delays must satisfy 0 < min <= max")
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("mqtt key_file given without cert_file")
        for name in ("prefix", "ha_prefix", "gateway_id"):
            value = getattr(self, name)
            if not value or any(c in value for c in "+#\0"):
                raise ValueError(f"mqtt {name} {value!r} is not usable in a topic")
        if "/" in self.gateway_id:
            raise ValueError(f"gateway id {self.gateway_id!r} must not contain '/'")

    @property
    def effective_client_id(self) -> str:
        return self.client_id or f"gatewayd-{self.gateway_id}"

    @property
    def outbox_path(self) -> Path:
        return self.state_dir / "mqtt-outbox.sqlite3"
