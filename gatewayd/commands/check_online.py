"""`gatewayd check-config --online`: open each radio and the broker the config names, once each.

Each radio ([radio] or every [[radios]] table) is opened through the radio class the daemon
uses (serial port, configuration commands, the module's ping and device info), then closed.
The broker is connected to with the configured host, port, credentials and TLS under a client
id of its own (so a running service keeps its session) and a clean session (so the check leaves
no session behind on the broker), then disconnected cleanly. Each result
is one line; no secret is printed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from gatewayd.config.schema import Config, RadioSettings
from gatewayd.errors import GatewaydError
from gatewayd.radios.registry import make_radio
from gatewayd.sinks.mqtt.connection import Connection

SERIAL_MODULES = frozenset({"im871a", "iu891a", "amb8465", "cul"})
RADIO_TIMEOUT_S = 15.0  # the whole open: port, every configuration command and its reply
MQTT_CLOSE_S = 2.0


@dataclass(frozen=True, slots=True)
class OnlineResult:
    ok: bool
    line: str


async def check_radio(r: RadioSettings) -> OnlineResult:
    where = f"radio {r.kind} on {r.device}" + (f" ({r.name})" if r.name else "")
    if r.kind not in SERIAL_MODULES:
        return OnlineResult(True, f"{where}: not a serial module, nothing to ping (skipped)")
    try:
        radio = make_radio(r.kind, r.device, r.mode, **r.options())
        async with asyncio.timeout(RADIO_TIMEOUT_S):
            async with radio:
                info = dict(getattr(radio, "info", {}))
    except TimeoutError:
        return OnlineResult(
            False, f"{where}: no complete answer within {RADIO_TIMEOUT_S:g} s: is `kind` right?"
        )
    except (GatewaydError, OSError) as exc:
        return OnlineResult(False, f"{where}: {exc}")
    described = ", ".join(f"{k} {v}" for k, v in info.items()) or "configured"
    return OnlineResult(True, f"{where}: answered ({described}), mode {r.mode.value}")


async def check_broker(config: Config) -> OnlineResult | None:
    if config.mqtt is None:
        return None
    settings = dataclasses.replace(
        config.mqtt, client_id=f"{config.mqtt.effective_client_id}-check"
    )
    auth = f"as {settings.username}" if settings.username else "without a user name"
    tls = "TLS" if settings.tls else "no TLS"
    where = f"MQTT broker {settings.host}:{settings.port} ({auth}, {tls})"
    # The will is only published if this check's connection is dropped, on a topic of its own.
    will_topic = f"{settings.prefix}/{settings.gateway_id}/check-config"
    try:
        conn = Connection(settings, will_topic, lambda _mid, _ok: None, keep_session=False)
        await conn.open()
        await conn.close(MQTT_CLOSE_S)
    except GatewaydError as exc:
        return OnlineResult(False, f"{where}: {exc}")
    return OnlineResult(True, f"{where}: connected")


async def _all(config: Config) -> list[OnlineResult]:
    results = [await check_radio(r) for r in config.receivers]
    broker = await check_broker(config)
    if broker is not None:
        results.append(broker)
    return results


def online_checks(config: Config) -> list[OnlineResult]:
    return asyncio.run(_all(config))
