"""The outbox's rows go out through PahoClient.publish_qos1(), built as bytes without paho's
publish(): the same bytes paho would send, counted in paho's in-flight window, acknowledged
to on_row_ack; and end to end with a real mosquitto: a full window, a broker that stops
answering and dies with rows in flight, and MQTT 5 refusals."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from gatewayd.daemon.handoff import Handoff
from gatewayd.meters.model import from_dict
from gatewayd.sinks.mqtt import MqttSettings, MqttSink
from gatewayd.sinks.mqtt.paho_client import PahoClient
from tests.sinks.conftest import Broker, BrokerFactory, Subscriber
from tests.sinks.mqtt_readings import numbered, seq_of

GW = "site-17"

V311, V5 = MQTTProtocolVersion.MQTTv311, MQTTProtocolVersion.MQTTv5


def _client(sock: socket.socket, protocol: MQTTProtocolVersion, inflight: int = 64) -> PahoClient:
    c = PahoClient(CallbackAPIVersion.VERSION2, protocol=protocol)
    c.max_inflight_messages_set(inflight)
    c._sock = sock  # as after a connect
    c.on_socket_register_write = lambda _c, _u, _s: None  # the loop writes, as in Connection
    return c


def _recv_all(sock: socket.socket) -> bytes:
    sock.setblocking(False)
    out = b""
    try:
        while chunk := sock.recv(1 << 20):
            out += chunk
    except BlockingIOError:
        pass
    return out


def _write_all(c: PahoClient) -> None:
    while c.want_write():
        c.loop_write()


@pytest.mark.parametrize("protocol", [V311, V5])
def test_a_row_is_the_publish_paho_would_have_sent(protocol: MQTTProtocolVersion) -> None:
    """Byte for byte, for payloads whose remaining length takes 1, 2 and 3 bytes."""
    sizes = [0, 1, 100, 120, 121, 122, 200, 16_370, 16_400, 70_000]
    cases = [
        (f"metersync/{GW}/meters/{i}", bytes([i % 251]) * n, i % 2 == 0)
        for i, n in enumerate(sizes)
    ]
    a, pa = socket.socketpair()
    b, pb = socket.socketpair()
    with a, pa, b, pb:
        by_paho, ours = _client(a, protocol), _client(b, protocol)
        paho_mids = [by_paho.publish(t, p, qos=1, retain=r).mid for t, p, r in cases]
        row_mids = [ours.publish_qos1(t, p, r) for t, p, r in cases]
        assert row_mids == paho_mids == list(range(1, len(cases) + 1))
        _write_all(by_paho)
        _write_all(ours)
        expected, got = _recv_all(pa), _recv_all(pb)
    assert got == expected
    assert ours._inflight_messages == len(cases) and not ours._out_messages  # kept apart


@pytest.mark.parametrize("protocol", [V311, V5])
def test_row_pubacks_reach_on_row_ack_and_free_the_window(protocol: MQTTProtocolVersion) -> None:
    ours, broker = socket.socketpair()
    acked: list[tuple[int, bool]] = []
    published: list[int] = []
    with ours, broker:
        c = _client(ours, protocol)
        c.on_row_ack = lambda mid, ok: acked.append((mid, ok))
        c.on_publish = lambda _c, _u, mid, _rc, _p: published.append(mid)
        mids = [c.publish_qos1(f"t/{i}", b"x", False) for i in range(3)]
        paho_mid = c.publish("status", b"online", qos=1).mid  # paho's own message, in between
        _write_all(c)
        ours.setblocking(False)
        acks = [b"\x40\x02" + m.to_bytes(2, "big") for m in (*mids, paho_mid)]  # type: ignore[union-attr]
        if protocol == V5:  # a refusal carries a reason code: 0x87 not authorized
            acks[1] = b"\x40\x03" + mids[1].to_bytes(2, "big") + b"\x87"  # type: ignore[union-attr]
        broker.sendall(acks[0])  # one on its own (a fresh read), the rest together
        c.loop_read()
        broker.sendall(b"".join(acks[1:]) + acks[0])  # and a repeated one: ignored
        c.loop_read()
        while c.unread:
            c.loop_read()
    assert acked == [(mids[0], True), (mids[1], protocol != V5), (mids[2], True)]
    assert published == [paho_mid]
    assert c._inflight_messages == 0 and not c._rows and not c._out_messages


def test_a_full_window_leaves_rows_to_paho_and_its_queue_moves_on_row_acks() -> None:
    """Rows and paho's own QoS 1 messages share paho's window: when it is full,
    publish_qos1() declines (the caller hands the message to paho, which queues it in order),
    and a row's PUBACK lets paho send what it queued."""
    ours, broker = socket.socketpair()
    with ours, broker:
        c = _client(ours, V311, inflight=2)
        c.on_row_ack = lambda _mid, _ok: None
        first = c.publish("status", b"online", qos=1).mid  # paho's, in flight
        row = c.publish_qos1("t/row", b"r", False)
        assert row is not None
        assert c.publish_qos1("t/late", b"l", False) is None  # full
        queued = c.publish("t/late", b"l", qos=1).mid  # what Connection does then
        _write_all(c)
        sent = _recv_all(broker)
        assert b"t/late" not in sent and b"t/row" in sent and b"online" in sent
        ours.setblocking(False)
        broker.sendall(b"\x40\x02" + row.to_bytes(2, "big"))
        c.loop_read()
        _write_all(c)
        assert b"t/late" in _recv_all(broker)  # sent once the row's PUBACK freed the window
        assert c._inflight_messages == 2 and set(c._out_messages) == {first, queued}


def test_row_mids_skip_those_still_in_flight_after_a_wrap() -> None:
    ours, broker = socket.socketpair()
    with ours, broker:
        c = _client(ours, V311)
        c._last_mid = 0
        paho_mid = c.publish("status", b"online", qos=1).mid  # 1, never acknowledged
        row = c.publish_qos1("t/a", b"a", False)  # 2
        c._last_mid = 0xFFFE
        assert [c.publish_qos1("t/b", b"b", False) for _ in range(2)] == [0xFFFF, 3]
        assert (paho_mid, row) == (1, 2)
        assert c.publish_qos1("", b"x", False) is None  # paho's publish() refuses these
        assert c.publish_qos1("t/#", b"x", False) is None


# ---------------------------------------------------------------------------- with mosquitto


def _settings(broker: Broker, tmp_path: Path, **kw: Any) -> MqttSettings:
    return broker.settings(GW, tmp_path, **{"reconnect_max_s": 0.3, **kw})


def _meter(i: int) -> str:
    return f"{76348700 + i}"


async def _until(pred: Any, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not pred():
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
async def test_rows_in_a_small_window_with_discovery_all_arrive_in_order(
    broker: Broker, subscribe: Any, tmp_path: Path, protocol: str
) -> None:
    """max_inflight 2, the Home Assistant configs (paho's messages) and a stream of readings
    of one meter (rows) competing for it while the broker is paused: never more than 2 in
    flight, and all of it arrives, the readings in order."""
    sub: Subscriber = subscribe(broker.port, f"metersync/{GW}/meters/#")
    sink = MqttSink(
        _settings(broker, tmp_path, protocol=protocol, max_inflight=2, ha_discovery=True)
    )
    await sink.start()
    await _until(lambda: sink.stats()["connected"])
    handoff = Handoff([sink], window_s=0.0)
    assert broker.proc is not None
    os.kill(broker.proc.pid, signal.SIGSTOP)
    try:
        for i in range(30):
            handoff.publish(from_dict(numbered(i)), False)
            await asyncio.sleep(0.002)
        await handoff.drain(5.0)
        assert sink._supervisor is not None and sink._supervisor._session is not None
        client = sink._supervisor._session.conn._client
        assert client._inflight_messages <= 2
    finally:
        os.kill(broker.proc.pid, signal.SIGCONT)
    msgs = await sub.wait_for(lambda ms: len(ms) >= 30)
    assert [seq_of(m.payload) for m in msgs] == list(range(30))
    await _until(lambda: sink.stats()["queued"] == 0 and sink.stats()["delivered"] == 30)
    await sink.stop(2.0)


async def test_rows_in_flight_when_the_broker_dies_are_sent_again_on_the_new_connection(
    broker_factory: BrokerFactory, subscribe: Any, tmp_path: Path
) -> None:
    broker = broker_factory()
    sink = MqttSink(_settings(broker, tmp_path, max_inflight=4))
    await sink.start()
    await _until(lambda: sink.stats()["connected"])
    handoff = Handoff([sink], window_s=0.0)
    assert broker.proc is not None
    os.kill(broker.proc.pid, signal.SIGSTOP)  # reads nothing, acknowledges nothing
    for i in range(10):
        handoff.publish(from_dict(numbered(i, _meter(i))), False)
    await handoff.drain(5.0)
    await asyncio.sleep(0.1)  # sent as far as the window lets them
    assert sink.stats()["delivered"] == 0 and sink.stats()["queued"] == 10
    broker.kill()  # with 4 rows in flight, unacknowledged
    broker.start()
    await _until(lambda: sink.stats()["queued"] == 0, timeout=20)
    assert sink.stats()["delivered"] >= 10 and sink.stats()["connects"] >= 2
    sub: Subscriber = subscribe(broker.port, f"metersync/{GW}/meters/#")  # what is retained
    msgs = await sub.wait_for(lambda ms: len(ms) >= 10)
    assert sorted((m.topic, seq_of(m.payload)) for m in msgs) == sorted(
        (f"metersync/{GW}/meters/{_meter(i)}", i) for i in range(10)
    )
    await sink.stop(2.0)


async def test_rows_the_broker_refuses_over_mqtt5_are_counted_and_not_sent_again(
    broker_factory: BrokerFactory, subscribe: Any, tmp_path: Path
) -> None:
    broker = broker_factory(start=False)
    acl = broker.dir / "acl"
    acl.write_text(f"topic readwrite metersync/{GW}/status\ntopic readwrite metersync/{GW}/stats\n")
    broker.conf.write_text(broker.conf.read_text() + f"acl_file {acl}\n")
    broker.start()
    sink = MqttSink(_settings(broker, tmp_path, protocol="5"))
    await sink.start()
    await _until(lambda: sink.stats()["connected"])
    handoff = Handoff([sink], window_s=0.0)
    for i in range(5):
        handoff.publish(from_dict(numbered(i)), False)
    await handoff.drain(5.0)
    await _until(lambda: sink.stats()["rejected"] == 5)
    stats = sink.stats()
    assert stats["delivered"] == 0 and stats["queued"] == 0 and stats["connected"] == 1
    await sink.stop(2.0)
