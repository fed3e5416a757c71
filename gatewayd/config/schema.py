"""config.toml (DESIGN.md §4.5) -> frozen, typed settings. Every error names the file, the dotted
key, what was expected and what was found, and never shows a key.

Keys come from, in order of precedence: `key` on the meter; `$CREDENTIALS_DIRECTORY/keys.toml`
(systemd LoadCredential=); the top-level `keys_file` (mode 0600, owned by root or the service
user). A meter finds its key under `key_ref`, or under its own id.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatewayd.config.reader import ConfigError, Table, load_toml
from gatewayd.config.secrets import Key, Secret
from gatewayd.meters.registry import driver_names
from gatewayd.radios import registry as radio_registry
from gatewayd.radios.base import ListenMode

__all__ = [
    "BleSettings",
    "Config",
    "ConfigError",
    "DebugSettings",
    "GatewaySettings",
    "LogSettings",
    "MeterSettings",
    "MqttSettings",
    "PublishSettings",
    "RadioSettings",
    "load_config",
    "parse_config",
]

DEFAULT_PATH = Path("/etc/gatewayd/config.toml")
RADIO_KINDS = tuple(radio_registry.KINDS)
RADIO_MODES = tuple(m.value for m in ListenMode)
BLE_SECURITY = ("authenticated", "encrypted")
LOG_LEVELS = ("debug", "info", "warning", "error")
JOURNAL_CHOICES = ("auto", "yes", "no")
_METER_ID = re.compile(r"[0-9A-Fa-f]{8}")
_GATEWAY_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_TOPIC_PART = re.compile(r"[^+#\0]+")
MQTT_PROTOCOLS = ("3.1.1", "5")
CREDENTIAL_NAME = "keys.toml"


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    id: str = "gateway"
    state_dir: Path = Path("/var/lib/gatewayd")


@dataclass(frozen=True, slots=True)
class RadioSettings:
    kind: str = "im871a"
    device: str = "/dev/wmbus0"
    mode: str = "c1"
    silence_reset_s: float = 600.0


@dataclass(frozen=True, slots=True)
class DedupSettings:
    window_s: float = 60.0
    max_entries: int = 4096


@dataclass(frozen=True, slots=True)
class PublishSettings:
    heartbeat_s: float = 900.0


@dataclass(frozen=True, slots=True)
class MeterSettings:
    id: str  # 8 hex digits, lower case as the decoder prints ids
    name: str
    driver: str  # "auto" or a driver name
    key: Key | None  # None only when encrypted = false
    encrypted: bool = True


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """[mqtt]; field names match gatewayd.sinks.mqtt.settings.MqttSettings (app.py converts)."""

    host: str = "localhost"
    port: int = 1883
    prefix: str = "metersync"
    ha_discovery: bool = False
    ha_prefix: str = "homeassistant"
    username: str | None = None
    password: Secret | None = None
    client_id: str | None = None  # None: "gatewayd-<gateway id>"
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive: int = 60
    protocol: str = "3.1.1"
    outbox_max: int = 100_000
    stats_interval_s: float = 60.0


@dataclass(frozen=True, slots=True)
class BleSettings:
    enabled: bool = True
    adapter: str = "hci0"
    security: str = "authenticated"
    name: str | None = None  # None: "MS-<gateway id>"
    bus_address: str | None = None  # a D-Bus address instead of the system bus (tests)


@dataclass(frozen=True, slots=True)
class StdoutSettings:
    enabled: bool = False


@dataclass(frozen=True, slots=True)
class LogSettings:
    level: str = "info"
    journal: str = "auto"  # auto: journald when running under systemd and importable


@dataclass(frozen=True, slots=True)
class DebugSettings:
    # Test hook: SIGUSR2 blocks the event loop this many seconds (0: no hook). Proves the watchdog.
    sigusr2_block_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    gateway: GatewaySettings
    radio: RadioSettings
    dedup: DedupSettings
    publish: PublishSettings
    meters: tuple[MeterSettings, ...]
    mqtt: MqttSettings | None
    ble: BleSettings | None
    stdout: StdoutSettings
    log: LogSettings
    debug: DebugSettings = field(default_factory=DebugSettings)
    keys_file: Path | None = None

    def meter(self, meter_id: str) -> MeterSettings | None:
        mid = meter_id.lower()
        return next((m for m in self.meters if m.id == mid), None)

    def keys(self) -> dict[str, bytes]:
        """Meter id -> key bytes, for the decoder."""
        return {m.id: m.key.raw for m in self.meters if m.key is not None}


# ---------------------------------------------------------------- loading


def load_config(
    path: Path | str, *, credentials_dir: str | bool | None = True, service_uid: int | None = None
) -> Config:
    """Read and validate the config file and its keys. Raises ConfigError.

    credentials_dir: True reads $CREDENTIALS_DIRECTORY; a path uses that; None/False none.
    """
    p = Path(path)
    data = load_toml(p)
    if credentials_dir is True:
        credentials_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    cred = Path(credentials_dir) / CREDENTIAL_NAME if credentials_dir else None
    return parse_config(data, p, credential=cred, service_uid=service_uid)


def parse_config(
    data: Mapping[str, Any],
    path: Path,
    *,
    credential: Path | None = None,
    service_uid: int | None = None,
) -> Config:
    root = Table(data, str(path), "")
    root.reject_unknown(
        {
            "keys_file",
            "gateway",
            "radio",
            "dedup",
            "publish",
            "meters",
            "mqtt",
            "ble",
            "stdout",
            "log",
            "debug",
        }
    )
    base = path.parent
    gw = root.table("gateway")
    gateway = GatewaySettings(
        id=gw.pattern("id", _GATEWAY_ID, "letters, digits, '_', '.', '-' (1-64)", "gateway"),
        state_dir=gw.path("state_dir", base, GatewaySettings().state_dir),
    )
    gw.reject_unknown({"id", "state_dir"})
    rd = root.table("radio")
    radio = RadioSettings(
        kind=rd.choice("kind", RADIO_KINDS, RadioSettings().kind, radio_registry.ALIASES),
        device=rd.string("device", RadioSettings().device),
        mode=rd.choice("mode", RADIO_MODES, RadioSettings().mode),
        silence_reset_s=rd.number("silence_reset_s", RadioSettings().silence_reset_s, minimum=0),
    )
    rd.reject_unknown({"kind", "device", "mode", "silence_reset_s"})
    dd = root.table("dedup")
    dedup = DedupSettings(
        window_s=dd.number("window_s", DedupSettings().window_s, minimum=0),
        max_entries=dd.integer("max_entries", DedupSettings().max_entries, minimum=16),
    )
    dd.reject_unknown({"window_s", "max_entries"})
    pb = root.table("publish")
    publish = PublishSettings(heartbeat_s=pb.number("heartbeat_s", 900.0, minimum=1))
    pb.reject_unknown({"heartbeat_s"})

    keys_file = root.optional_path("keys_file", base)
    file_keys = _read_keys_file(keys_file, root, service_uid) if keys_file else {}
    cred_keys = _read_credential(credential) if credential and credential.exists() else {}
    meters = _meters(root, {**file_keys, **cred_keys}, keys_file, credential)

    mqtt = _mqtt(root.table("mqtt"), base) if "mqtt" in data else None
    ble = _ble(root.table("ble")) if "ble" in data else None
    if ble is not None and not ble.enabled:
        ble = None
    so = root.table("stdout")
    stdout = StdoutSettings(enabled=so.boolean("enabled", False))
    so.reject_unknown({"enabled"})
    lg = root.table("log")
    log = LogSettings(
        level=lg.choice("level", LOG_LEVELS, "info"),
        journal=lg.choice("journal", JOURNAL_CHOICES, "auto"),
    )
    lg.reject_unknown({"level", "journal"})
    db = root.table("debug")
    debug = DebugSettings(sigusr2_block_s=db.number("sigusr2_block_s", 0.0, minimum=0))
    db.reject_unknown({"sigusr2_block_s"})
    return Config(
        path=path,
        gateway=gateway,
        radio=radio,
        dedup=dedup,
        publish=publish,
        meters=meters,
        mqtt=mqtt,
        ble=ble,
        stdout=stdout,
        log=log,
        debug=debug,
        keys_file=keys_file,
    )


def _meters(
    root: Table, keys: Mapping[str, Key], keys_file: Path | None, credential: Path | None
) -> tuple[MeterSettings, ...]:
    out: list[MeterSettings] = []
    seen: set[str] = set()
    for mt in root.array_of_tables("meters"):
        mt.reject_unknown({"id", "name", "driver", "key", "key_ref", "encrypted"})
        mid = mt.pattern("id", _METER_ID, "8 hex digits", None).lower()
        if mid in seen:
            raise mt.error("id", "a meter id not listed before", f"{mid} again")
        seen.add(mid)
        encrypted = mt.boolean("encrypted", True)
        key: Key | None = None
        if "key" in mt:
            key = mt.key("key")
        elif encrypted:
            ref = mt.string("key_ref", mid).lower()
            key = keys.get(ref)
            if key is None:
                where = (
                    " or ".join(str(s) for s in (keys_file, credential) if s is not None)
                    or "no keys_file configured"
                )
                raise mt.error(
                    "key",
                    f"a key (key = 32 hex digits, or an entry {ref} in [keys] of the keys file; "
                    "encrypted = false for a meter that sends in clear)",
                    f"none ({where})",
                )
        out.append(
            MeterSettings(
                id=mid,
                name=mt.string("name", mid),
                driver=mt.choice("driver", driver_names(), "auto"),
                key=key,
                encrypted=encrypted,
            )
        )
    return tuple(out)


def _mqtt(t: Table, base: Path) -> MqttSettings:
    d = MqttSettings()
    t.reject_unknown(MqttSettings.__dataclass_fields__)
    password = t.optional_string("password")
    settings = MqttSettings(
        host=t.string("host", d.host),
        port=t.integer("port", d.port, minimum=1, maximum=65535),
        prefix=t.pattern("prefix", _TOPIC_PART, "a topic prefix without + # or NUL", d.prefix),
        ha_discovery=t.boolean("ha_discovery", d.ha_discovery),
        ha_prefix=t.pattern(
            "ha_prefix", _TOPIC_PART, "a topic prefix without + # or NUL", d.ha_prefix
        ),
        username=t.optional_string("username"),
        password=Secret(password) if password is not None else None,
        client_id=t.optional_string("client_id"),
        tls=t.boolean("tls", d.tls),
        ca_file=t.optional_path("ca_file", base),
        cert_file=t.optional_path("cert_file", base),
        key_file=t.optional_path("key_file", base),
        keepalive=t.integer("keepalive", d.keepalive, minimum=5, maximum=65535),
        protocol=t.choice("protocol", MQTT_PROTOCOLS, d.protocol),
        outbox_max=t.integer("outbox_max", d.outbox_max, minimum=1),
        stats_interval_s=t.number("stats_interval_s", d.stats_interval_s, minimum=1),
    )
    if settings.key_file is not None and settings.cert_file is None:
        raise t.error("cert_file", "a client certificate when key_file is given", "none")
    return settings


def _ble(t: Table) -> BleSettings:
    t.reject_unknown({"enabled", "adapter", "security", "name", "bus_address"})
    return BleSettings(
        enabled=t.boolean("enabled", True),
        adapter=t.string("adapter", "hci0"),
        security=t.choice("security", BLE_SECURITY, "authenticated"),
        name=t.optional_string("name"),
        bus_address=t.optional_string("bus_address"),
    )


# ---------------------------------------------------------------- keys files


def _read_keys_file(path: Path, root: Table, service_uid: int | None) -> dict[str, Key]:
    try:
        st = path.stat()
    except OSError as exc:
        raise root.error("keys_file", "a readable keys file", f"{path}: {exc.strerror}") from None
    check_keys_file_permissions(path, st, root, service_uid)
    return _keys_table(path)


def check_keys_file_permissions(
    path: Path, st: os.stat_result, root: Table, service_uid: int | None
) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise root.error("keys_file", "a regular file", f"{path} is not one")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise root.error(
            "keys_file",
            "mode 0600 (no group or other permissions)",
            f"{path} has mode {mode:04o}",
        )
    uid = os.geteuid() if service_uid is None else service_uid
    if st.st_uid not in (0, uid):
        raise root.error(
            "keys_file",
            f"owner root or the service user (uid {uid})",
            f"{path} owned by uid {st.st_uid}",
        )


def _read_credential(path: Path) -> dict[str, Key]:
    # systemd creates credentials 0400 for the service user; anything looser is a mistake.
    st = path.stat()
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise ConfigError(
            str(path), "", "no group or other permissions", f"mode {stat.S_IMODE(st.st_mode):04o}"
        )
    return _keys_table(path)


def _keys_table(path: Path) -> dict[str, Key]:
    t = Table(load_toml(path), str(path), "")
    t.reject_unknown({"keys"})
    keys = t.table("keys")
    out: dict[str, Key] = {}
    for name in keys.names():
        out[name.lower()] = keys.key(name)
    return out
