"""TLS with a test CA (server-only and mutual), and refused credentials: clear, once, kept."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from gatewayd.config.secrets import Secret
from gatewayd.meters.model import from_dict
from gatewayd.sinks.mqtt import MqttSink
from tests.sinks.conftest import Broker, Pki, Subscriber
from tests.sinks.mqtt_readings import numbered, seq_of
from tests.sinks.test_mqtt_delivery import BASE, settings

METER = f"{BASE}/meters/76348799"


async def _deliver_three(sink: MqttSink, sub: Subscriber) -> None:
    await sink.start()
    for i in range(3):
        sink.publish(from_dict(numbered(i)))
    msgs = await sub.wait_for(lambda ms: len([m for m in ms if m.topic == METER]) == 3)
    assert [seq_of(m.payload) for m in msgs if m.topic == METER] == [0, 1, 2]
    await sink.stop(2.0)
    assert sink.stats()["connect_failures"] == 0


async def test_tls_with_test_ca(
    broker_factory: Any, subscribe: Any, pki: Pki, tmp_path: Path
) -> None:
    broker: Broker = broker_factory(tls="server")
    sink = MqttSink(settings(broker, tmp_path, tls=True, ca_file=pki.ca))
    # The test subscriber speaks plain MQTT: give it its own plain broker? No: it must see
    # what arrived over TLS, so it connects to the same broker over TLS too.
    sub = _tls_subscriber(subscribe, broker, pki)
    await _deliver_three(sink, sub)


async def test_mutual_tls_with_client_certificate(
    broker_factory: Any, subscribe: Any, pki: Pki, tmp_path: Path
) -> None:
    broker: Broker = broker_factory(tls="mutual")
    sink = MqttSink(
        settings(
            broker,
            tmp_path,
            tls=True,
            ca_file=pki.ca,
            cert_file=pki.client_cert,
            key_file=pki.client_key,
        )
    )
    sub = _tls_subscriber(subscribe, broker, pki, client_cert=True)
    await _deliver_three(sink, sub)


async def test_mutual_tls_without_client_certificate_is_refused(
    broker_factory: Any, pki: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "gatewayd.sinks.mqtt")
    broker: Broker = broker_factory(tls="mutual")
    sink = MqttSink(settings(broker, tmp_path, tls=True, ca_file=pki.ca))
    await sink.start()
    sink.publish(from_dict(numbered(0)))
    await asyncio.sleep(0.6)
    await sink.stop(0.5)
    st = sink.stats()
    assert st["connect_failures"] >= 1 and st["connects"] == 0 and st["queued"] == 1


async def test_broker_certificate_from_another_ca_is_refused_clearly(
    broker_factory: Any, pki: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "gatewayd.sinks.mqtt")
    broker: Broker = broker_factory(tls="server")
    sink = MqttSink(settings(broker, tmp_path, tls=True, ca_file=pki.other_ca))
    await sink.start()
    sink.publish(from_dict(numbered(0)))
    await asyncio.sleep(0.6)
    await sink.stop(0.5)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "TLS certificate of 127.0.0.1" in warnings[0]
    assert "not accepted: " in warnings[0]  # then OpenSSL's verify message
    assert sink.stats()["queued"] == 1


async def test_wrong_password_clear_error_once_backoff_and_readings_kept(
    broker_factory: Any, subscribe: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "gatewayd.sinks.mqtt")
    broker: Broker = broker_factory(auth=("gw17", "right-horse-battery"))
    wrong = settings(
        broker,
        tmp_path,
        username="gw17",
        password=Secret("wrong-staple-secret"),
        reconnect_min_s=0.05,
        reconnect_max_s=0.4,
    )
    sink = MqttSink(wrong)
    await sink.start()
    for i in range(5):
        sink.publish(from_dict(numbered(i)))
    await asyncio.sleep(1.5)
    await sink.stop(0.5)

    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings  # logged once, then only at DEBUG
    assert "refused the connection" in warnings[0]
    assert "username and password" in warnings[0]
    assert "wrong-staple-secret" not in caplog.text

    # Backoff: failure n waits min(max, lo * 2**(n-1)) scaled by a jitter factor in [0.5, 1).
    matches = [re.search(r"retrying in ([0-9.]+) s", r.getMessage()) for r in retries]
    delays = [float(m.group(1)) for m in matches if m is not None]
    assert len(delays) == len(retries)
    assert 3 <= len(delays) <= 15
    for n, d in enumerate(delays, start=1):
        cap = min(0.4, 0.05 * 2 ** (n - 1))
        assert 0.5 * cap - 0.05 <= d <= cap + 0.05, (n, d)
    assert sink.stats()["connect_failures"] == len(delays) + 1 or sink.stats()[
        "connect_failures"
    ] == len(delays)
    assert sink.stats()["queued"] == 5

    # The readings were kept: with the right password, a new run delivers them all.
    sub: Subscriber = subscribe(
        broker.port, f"{BASE}/#", username="gw17", password="right-horse-battery"
    )
    right = MqttSink(
        settings(broker, tmp_path, username="gw17", password=Secret("right-horse-battery"))
    )
    await right.start()
    msgs = await sub.wait_for(lambda ms: len([m for m in ms if m.topic == METER]) == 5)
    assert [seq_of(m.payload) for m in msgs if m.topic == METER] == [0, 1, 2, 3, 4]
    await right.stop(2.0)


def _tls_subscriber(
    subscribe: Any, broker: Broker, pki: Pki, *, client_cert: bool = False
) -> Subscriber:
    tls: dict[str, Any] = {"ca_certs": str(pki.ca)}
    if client_cert:
        tls |= {"certfile": str(pki.client_cert), "keyfile": str(pki.client_key)}
    sub: Subscriber = subscribe(broker.port, f"{BASE}/#", tls=tls)
    return sub
