"""config.toml -> `Config`. Every error names the file, the dotted key, what was expected and
what was found, and never shows a secret (ConfigError; the CLI exits 2).

Keys come from, in order of precedence: `key` on the meter; `$CREDENTIALS_DIRECTORY/keys.toml`
(under the unit: a root-made copy of /etc/gatewayd/keys.toml); the top-level `keys_file` (mode
0600, owned by root or the service user). A meter finds its key under `key_ref`, or under its
own id. The MQTT password and TLS client key likewise come from root-only files beside the keys,
`$CREDENTIALS_DIRECTORY/mqtt-password` (its first line) and `.../mqtt-client.key`, unless
`[mqtt] password` / `key_file` are set; `[mqtt] password` is refused in a config.toml that group
or others can read.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar, get_args

from gatewayd.config.keysfile import read_credential, read_keys_file
from gatewayd.config.load_meters import METER_KEYS, READING_KEYS, parse_meters
from gatewayd.config.reader import (
    ConfigError,
    ConfigErrors,
    Table,
    every_error,
    load_toml,
    raise_all,
)
from gatewayd.config.schema import RADIO_COMMON_KEYS, RADIO_KIND_KEYS, Config, RadioSettings
from gatewayd.config.secrets import Key, Secret
from gatewayd.config.sections import (
    COMMIT_WINDOW_MAX_MS,
    READ_INTERVAL_MAX_MS,
    BleSecurity,
    BleSettings,
    DebugSettings,
    DedupSettings,
    GatewaySettings,
    HealthSettings,
    JournalChoice,
    LogLevel,
    LogSettings,
    MeterSettings,
    MqttProtocol,
    MqttSettings,
    PublishSettings,
    StdoutSettings,
    toml_keys,
)
from gatewayd.radios import modes as radio_kinds
from gatewayd.radios.modes import ListenMode

__all__ = [
    "CREDENTIAL_NAME",
    "METER_KEYS",
    "READING_KEYS",
    "ConfigError",
    "ConfigErrors",
    "load_config",
    "parse_config",
]

T = TypeVar("T")

CREDENTIAL_NAME: Final = "keys.toml"
MQTT_PASSWORD_CREDENTIAL: Final = "mqtt-password"
MQTT_KEY_CREDENTIAL: Final = "mqtt-client.key"
SUN_PATH_MAX: Final = 107  # bytes in a unix socket address (sockaddr_un.sun_path, less the NUL)
MQTT_PASSWORD_PATH: Final = "/etc/gatewayd/mqtt-password"  # install.sh --mqtt-password-file
SECTIONS: Final = (
    "keys_file",
    "gateway",
    "radio",
    "radios",
    "dedup",
    "publish",
    "health",
    "meters",
    "mqtt",
    "ble",
    "stdout",
    "log",
    "debug",
)
_RADIO_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_GATEWAY_ID: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_TOPIC_PART: Final = re.compile(r"[^+#\0]+")
_TOPIC_EXPECTED: Final = "a topic prefix without + # or NUL"
LOG_LEVELS: Final[tuple[LogLevel, ...]] = get_args(LogLevel)
JOURNAL_CHOICES: Final[tuple[JournalChoice, ...]] = get_args(JournalChoice)
MQTT_PROTOCOLS: Final[tuple[MqttProtocol, ...]] = get_args(MqttProtocol)
BLE_SECURITY: Final[tuple[BleSecurity, ...]] = get_args(BleSecurity)


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


def _credential_file(credential: Path | None, name: str) -> Path | None:
    """A secret file beside the keys credential, if there is one."""
    if credential is None:
        return None
    path = credential.with_name(name)
    return path if path.is_file() else None


def _password_from_file(t: Table, path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise t.error("password", f"a readable password file {path}", type(exc).__name__) from None
    first = text.splitlines()[0] if text else ""
    if not first:
        raise t.error("password", f"a password on the first line of {path}", "an empty line")
    return first


def parse_config(
    data: Mapping[str, Any],
    path: Path,
    *,
    credential: Path | None = None,
    service_uid: int | None = None,
) -> Config:
    """Every key of every table is read even after a mistake, in config.toml and the keys
    files, so that one run names every mistake: one ConfigError, or a ConfigErrors."""
    errors: list[ConfigError] = []

    def section(read: Callable[[], T], fallback: T) -> T:
        try:
            return read()
        except ConfigError as exc:
            errors.extend(every_error(exc))
            return fallback

    root = Table(data, str(path), "", errors)  # collects: a wrong value is noted, not raised
    section(lambda: root.reject_unknown(SECTIONS), None)
    base = path.parent
    gateway = section(lambda: _gateway(root.table("gateway"), base), GatewaySettings())
    one_radio: tuple[RadioSettings, ...] = (RadioSettings(),)
    radios = section(lambda: _radios(root, data), one_radio)
    dedup = section(lambda: _dedup(root.table("dedup")), DedupSettings())
    publish = section(lambda: _publish(root.table("publish")), PublishSettings())
    health = section(lambda: _health(root.table("health")), HealthSettings())

    keys_file = root.optional_path("keys_file", base)
    bad_keys: set[str] = set()  # entries of the keys files that are wrong (noted already)
    unread: list[bool] = []  # a keys file that could not be read at all

    def keys_from(read: Callable[[], dict[str, Key]]) -> dict[str, Key]:
        found = section(read, None)
        if found is None:
            unread.append(True)
        return found or {}

    file_keys = (
        keys_from(lambda: read_keys_file(keys_file, root, service_uid, errors=errors, bad=bad_keys))
        if keys_file
        else {}
    )
    cred_keys = (
        keys_from(lambda: read_credential(credential, errors, bad_keys))
        if credential and credential.exists()
        else {}
    )
    no_meters: tuple[MeterSettings, ...] = ()
    reported = None if unread else bad_keys
    meters = section(
        lambda: parse_meters(root, {**file_keys, **cred_keys}, keys_file, credential, reported),
        no_meters,
    )
    mqtt = (
        section(lambda: _mqtt(root.table("mqtt"), base, gateway, credential), None)
        if "mqtt" in data
        else None
    )
    ble = section(lambda: _ble(root.table("ble"), gateway), None) if "ble" in data else None
    stdout = section(lambda: _stdout(root.table("stdout")), StdoutSettings())
    log = section(lambda: _log(root.table("log")), LogSettings())
    debug = section(lambda: _debug(root.table("debug")), DebugSettings())
    raise_all(errors)
    return Config(
        path=path,
        gateway=gateway,
        radio=radios[0],
        radios=radios,
        dedup=dedup,
        publish=publish,
        health=health,
        meters=meters,
        mqtt=mqtt,
        ble=ble if ble is not None and ble.enabled else None,
        stdout=stdout,
        log=log,
        debug=debug,
        keys_file=keys_file,
    )


# ---------------------------------------------------------------- one function per section
# Each reads its keys with the section type's own defaults (D = the type with no arguments).


def _gateway(t: Table, base: Path) -> GatewaySettings:
    t.reject_unknown(toml_keys(GatewaySettings))
    d = GatewaySettings()
    gateway_id = t.pattern("id", _GATEWAY_ID, "letters, digits, '_', '.', '-' (1-64)", d.id)
    listen_socket = t.string("listen_socket", d.listen_socket)
    if listen_socket not in ("", "auto"):
        listen_socket = str(base / listen_socket)  # an absolute path stays as it is
        if len(os.fsencode(listen_socket)) > SUN_PATH_MAX:
            t.report(
                t.error("listen_socket", f"a path of at most {SUN_PATH_MAX} bytes", listen_socket)
            )
    return GatewaySettings(
        id=gateway_id,
        state_dir=t.path("state_dir", base, d.state_dir),
        listen_socket=listen_socket,
    )


def _radios(root: Table, data: Mapping[str, Any]) -> tuple[RadioSettings, ...]:
    """[radio] (one receiver) or [[radios]] (several, each with a unique name)."""
    if "radios" not in data:
        return (_radio(root.table("radio")),)
    if "radio" in data:
        raise root.error("radios", "either one [radio] table or [[radios]] tables", "both")
    radios = tuple(_radio(t) for t in root.array_of_tables("radios"))
    if not radios:
        raise root.error("radios", "at least one [[radios]] table", "an empty list")
    labels = [r.label for r in radios]
    for i, label in enumerate(labels):
        if label in labels[:i]:
            root.report(root.error(f"radios[{i}].name", "a name no other radio has", repr(label)))
    return radios


def _radio(t: Table) -> RadioSettings:
    d = RadioSettings()
    kind = t.choice("kind", tuple(radio_kinds.KINDS), d.kind, radio_kinds.ALIASES)
    t.reject_unknown(RADIO_COMMON_KEYS + RADIO_KIND_KEYS.get(kind, ()))
    return RadioSettings(
        kind=kind,
        device=t.string("device", d.device),
        mode=t.member("mode", ListenMode, d.mode),
        silence_reset_s=t.number("silence_reset_s", d.silence_reset_s, minimum=0),
        read_interval_ms=t.integer(
            "read_interval_ms", d.read_interval_ms, minimum=0, maximum=READ_INTERVAL_MAX_MS
        ),
        name=t.pattern("name", _RADIO_NAME, "letters, digits, '_', '.', ':', '-' (1-64)", d.name)
        if "name" in t
        else "",
        c1_frame="a" if t.choice("c1_frame", ("a", "b"), d.c1_frame) == "a" else "b",
        allow=t.strings("allow", d.allow),
        max_connections=t.integer("max_connections", d.max_connections, minimum=1, maximum=1024),
        max_line=t.integer("max_line", d.max_line, minimum=32, maximum=65536),
    )


def _dedup(t: Table) -> DedupSettings:
    t.reject_unknown(toml_keys(DedupSettings))
    d = DedupSettings()
    return DedupSettings(
        window_s=t.number("window_s", d.window_s, minimum=0),
        max_entries=t.integer("max_entries", d.max_entries, minimum=16),
    )


def _publish(t: Table) -> PublishSettings:
    t.reject_unknown(toml_keys(PublishSettings))
    return PublishSettings(
        heartbeat_s=t.number("heartbeat_s", PublishSettings().heartbeat_s, minimum=1)
    )


def _health(t: Table) -> HealthSettings:
    t.reject_unknown(toml_keys(HealthSettings))
    return HealthSettings(silent_after_s=t.number("silent_after_s", 0.0, minimum=0))


def _mqtt(
    t: Table, base: Path, gateway: GatewaySettings, credential: Path | None = None
) -> MqttSettings:
    t.reject_unknown(toml_keys(MqttSettings))
    d = MqttSettings(gateway_id=gateway.id, state_dir=gateway.state_dir)
    password = t.secret_string("password")
    if password is not None:
        _refuse_shared_password(t)
    password_file = _credential_file(credential, MQTT_PASSWORD_CREDENTIAL)
    if password is None and password_file is not None:
        try:
            password = _password_from_file(t, password_file)
        except ConfigError as exc:
            t.report(exc)
    cert_file = t.optional_path("cert_file", base)
    key_file = t.optional_path("key_file", base)
    if key_file is None and cert_file is not None:
        key_file = _credential_file(credential, MQTT_KEY_CREDENTIAL)
    if key_file is not None and cert_file is None:
        t.report(t.error("cert_file", "a client certificate when key_file is given", "none"))
        key_file = None
    return MqttSettings(
        gateway_id=gateway.id,
        state_dir=gateway.state_dir,
        host=t.string("host", d.host),
        port=t.integer("port", d.port, minimum=1, maximum=65535),
        prefix=t.pattern("prefix", _TOPIC_PART, _TOPIC_EXPECTED, d.prefix),
        ha_discovery=t.boolean("ha_discovery", d.ha_discovery),
        ha_prefix=t.pattern("ha_prefix", _TOPIC_PART, _TOPIC_EXPECTED, d.ha_prefix),
        username=t.optional_string("username"),
        password=Secret(password) if password is not None else None,
        client_id=t.optional_string("client_id"),
        tls=t.boolean("tls", d.tls),
        ca_file=t.optional_path("ca_file", base),
        cert_file=cert_file,
        key_file=key_file,
        keepalive=t.integer("keepalive", d.keepalive, minimum=5, maximum=65535),
        protocol=t.choice("protocol", MQTT_PROTOCOLS, d.protocol),
        outbox_max=t.integer("outbox_max", d.outbox_max, minimum=1),
        commit_window_ms=t.integer(
            "commit_window_ms", d.commit_window_ms, minimum=0, maximum=COMMIT_WINDOW_MAX_MS
        ),
        stats_interval_s=t.number("stats_interval_s", d.stats_interval_s, minimum=1),
    )


def _refuse_shared_password(t: Table) -> None:
    """`[mqtt] password` is accepted only in a config.toml no group or other user can read
    (the installed one is 0644): the place for it is the root-only password file."""
    try:
        mode = os.stat(t.file).st_mode
    except OSError:
        return  # settings parsed from memory, not from a file
    if mode & 0o077:
        t.report(
            t.error(
                "password",
                f"the broker password in {MQTT_PASSWORD_PATH} (sudo deploy/install.sh "
                "--mqtt-password-file -), not in a config file others can read",
                f"a password in {t.file}, which has mode {stat.S_IMODE(mode):04o}",
            )
        )


def _ble(t: Table, gateway: GatewaySettings) -> BleSettings:
    t.reject_unknown(toml_keys(BleSettings))
    d = BleSettings()
    return BleSettings(
        enabled=t.boolean("enabled", d.enabled),
        adapter=t.string("adapter", d.adapter),
        security=t.choice("security", BLE_SECURITY, d.security),
        name=t.optional_string("name"),
        bus_address=t.optional_string("bus_address"),
        gateway_id=gateway.id,
    )


def _stdout(t: Table) -> StdoutSettings:
    t.reject_unknown(toml_keys(StdoutSettings))
    return StdoutSettings(enabled=t.boolean("enabled", StdoutSettings().enabled))


def _log(t: Table) -> LogSettings:
    t.reject_unknown(toml_keys(LogSettings))
    d = LogSettings()
    return LogSettings(
        level=t.choice("level", LOG_LEVELS, d.level),
        journal=t.choice("journal", JOURNAL_CHOICES, d.journal),
        readings=t.boolean("readings", d.readings),
    )


def _debug(t: Table) -> DebugSettings:
    t.reject_unknown(toml_keys(DebugSettings))
    d = DebugSettings()
    return DebugSettings(sigusr2_block_s=t.number("sigusr2_block_s", d.sigusr2_block_s, minimum=0))
