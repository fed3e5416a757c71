"""The sections of config.toml as frozen, typed values, and every default in one place.

Each sink takes its own section as `gatewayd.config.load` builds it (`MqttSettings`,
`BleSettings`): no second settings type, no copying field by field. Fields made with `internal()`
are not keys of config.toml: either filled from `[gateway]` by the loader (`gateway_id`,
`state_dir`) or tuning with production defaults that tests shorten.

This module imports neither radios nor sinks (both import it); `RadioSettings` and `Config` are
in `gatewayd.config.schema`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple

from gatewayd.config.secrets import Key, Secret

__all__ = [
    "COMMIT_WINDOW_MAX_MS",
    "COMMIT_WINDOW_MS",
    "READ_INTERVAL_MAX_MS",
    "READ_INTERVAL_MS",
    "BleSecurity",
    "BleSettings",
    "DebugSettings",
    "DedupSettings",
    "GatewaySettings",
    "HealthSettings",
    "JournalChoice",
    "LogLevel",
    "LogSettings",
    "MeterSettings",
    "MqttProtocol",
    "MqttSettings",
    "PublishSettings",
    "StdoutSettings",
    "internal",
    "toml_keys",
]

LogLevel = Literal["debug", "info", "warning", "error"]
JournalChoice = Literal["auto", "yes", "no"]  # auto: journald when under systemd and importable
MqttProtocol = Literal["3.1.1", "5"]
# authenticated: passkey bonds only; encrypted: Just Works bonds too.
BleSecurity = Literal["authenticated", "encrypted"]

_INTERNAL: Final = {"internal": True}
# [mqtt] commit_window_ms: readings that arrive within it of the oldest one not yet on disk
# share one outbox commit (one fsync). 0: what one read of the radio brought is one commit.
COMMIT_WINDOW_MS: Final = 0
COMMIT_WINDOW_MAX_MS: Final = 1000
# [radio] read_interval_ms: the radio is read at most this often; what it hears in between
# waits in the port's buffer and goes through as one batch (one commit).
READ_INTERVAL_MS: Final = 75
READ_INTERVAL_MAX_MS: Final = 1000
_TOPIC_FORBIDDEN: Final = "+#\0"


def internal(default: Any) -> Any:
    """A field that is not a config.toml key (filled by the loader, or tuning for tests)."""
    return field(default=default, metadata=_INTERNAL)


def toml_keys(cls: type) -> tuple[str, ...]:
    """The config.toml keys of a section type: its fields except the internal() ones."""
    return tuple(f.name for f in dataclasses.fields(cls) if not f.metadata.get("internal"))


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    id: str = "gateway"
    state_dir: Path = Path("/var/lib/gatewayd")
    # `gatewayd listen`'s socket: "auto" ($RUNTIME_DIRECTORY or state_dir)/listen.sock, "" none
    listen_socket: str = "auto"


@dataclass(frozen=True, slots=True)
class DedupSettings:
    window_s: float = 60.0
    max_entries: int = 4096


@dataclass(frozen=True, slots=True)
class PublishSettings:
    heartbeat_s: float = 900.0


@dataclass(frozen=True, slots=True)
class HealthSettings:
    # 0: automatic, 4 x each meter's learnt interval and at least 120 s
    silent_after_s: float = 0.0


class MeterSettings(NamedTuple):
    """One [[meters]] table. Immutable; a NamedTuple because a site may configure 10,000
    meters, and one is built in a third of the time a frozen dataclass takes (start-up)."""

    id: str  # 8 hex digits, lower case as the decoder prints ids
    name: str  # default: the id
    driver: str = "auto"  # "auto" or a driver name
    key: Key | None = None  # None only when encrypted = false
    encrypted: bool = True
    # [meters.fields]: fixed fields merged into every reading of the meter, in file order
    fields: tuple[tuple[str, str | int | float | bool], ...] = ()
    silent_after_s: float | None = None  # None: [health] silent_after_s


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """`[mqtt]`, plus `gateway_id` and `state_dir` from `[gateway]`: what the MQTT sink takes.

    The password is a `Secret` (never in repr). Invariants are checked here too (ValueError),
    for settings built in code; the loader reports the same mistakes with file and key first.
    """

    gateway_id: str = field(metadata=_INTERNAL)  # [gateway] id
    state_dir: Path = field(metadata=_INTERNAL)  # [gateway] state_dir
    host: str = "localhost"
    port: int = 1883
    prefix: str = "metersync"
    ha_discovery: bool = False
    ha_prefix: str = "homeassistant"
    username: str | None = None
    password: Secret | None = None
    client_id: str | None = None  # None: "gatewayd-<gateway id>"
    tls: bool = False
    ca_file: Path | None = None  # None with tls: the system's trusted CAs
    cert_file: Path | None = None  # client certificate (PEM), optional
    key_file: Path | None = None  # its private key; None: the key is inside cert_file
    keepalive: int = 60
    protocol: MqttProtocol = "3.1.1"
    outbox_max: int = 100_000
    commit_window_ms: int = COMMIT_WINDOW_MS
    stats_interval_s: float = 60.0
    reconnect_min_s: float = internal(1.0)
    reconnect_max_s: float = internal(60.0)
    connect_timeout_s: float = internal(10.0)
    max_inflight: int = internal(64)
    stable_after_s: float = internal(30.0)  # a link up this long resets the reconnect backoff
    puback_timeout_s: float = internal(30.0)  # no PUBACK this long, messages in flight: reconnect

    def __post_init__(self) -> None:
        if self.protocol not in ("3.1.1", "5"):
            raise ValueError(f"mqtt protocol must be '3.1.1' or '5', not {self.protocol!r}")
        if self.outbox_max < 1:
            raise ValueError("mqtt outbox_max must be at least 1")
        if not 0 <= self.commit_window_ms <= COMMIT_WINDOW_MAX_MS:
            raise ValueError(f"mqtt commit_window_ms must be 0-{COMMIT_WINDOW_MAX_MS}")
        if not 0 < self.reconnect_min_s <= self.reconnect_max_s:
            raise ValueError("mqtt reconnect delays must satisfy 0 < min <= max")
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("mqtt key_file given without cert_file")
        for name in ("prefix", "ha_prefix", "gateway_id"):
            value = getattr(self, name)
            if not value or any(c in value for c in _TOPIC_FORBIDDEN):
                raise ValueError(f"mqtt {name} {value!r} is not usable in a topic")
        if "/" in self.gateway_id:
            raise ValueError(f"gateway id {self.gateway_id!r} must not contain '/'")

    @property
    def effective_client_id(self) -> str:
        return self.client_id or f"gatewayd-{self.gateway_id}"

    @property
    def outbox_path(self) -> Path:
        return self.state_dir / "mqtt-outbox.sqlite3"

    @property
    def password_in_clear(self) -> bool:
        """A password that would cross a network without TLS (to loopback it never leaves)."""
        return self.password is not None and not self.tls and not _is_loopback(self.host)


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class BleSettings:
    """`[ble]`, plus `gateway_id` from `[gateway]`: what the BLE sink takes.

    adapter: the BlueZ adapter name ("hci0" -> /org/bluez/hci0). The advertised name is
    `name`, else `MS-<gateway_id>`, cut to fit. bus_address: a D-Bus address instead of the
    system bus (tests; None honours $DBUS_SYSTEM_BUS_ADDRESS). retry_s: how often to retry while
    BlueZ is up but the adapter is not ready, and to reconnect when the system bus is gone.
    `enabled = false` in config.toml means no BLE sink at all (Config.ble is None).
    """

    enabled: bool = True
    adapter: str = "hci0"
    security: BleSecurity = "authenticated"
    name: str | None = None  # None: "MS-<gateway id>"
    bus_address: str | None = None
    gateway_id: str = internal("gateway")
    retry_s: float = internal(10.0)

    @property
    def adapter_path(self) -> str:
        return f"/org/bluez/{self.adapter}"


@dataclass(frozen=True, slots=True)
class StdoutSettings:
    enabled: bool = False


@dataclass(frozen=True, slots=True)
class LogSettings:
    level: LogLevel = "info"
    journal: JournalChoice = "auto"
    readings: bool = True  # each published reading as one INFO line (false: events only)


@dataclass(frozen=True, slots=True)
class DebugSettings:
    # Test hook: SIGUSR2 blocks the event loop this many seconds (0: no hook). Proves the watchdog.
    sigusr2_block_s: float = 0.0
