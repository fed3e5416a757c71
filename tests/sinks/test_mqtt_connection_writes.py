"""The MQTT client's socket I/O shortcuts: queued packets written by one send(), in order;
what the broker sent read at once and handed to paho's packet reader piece by piece."""

from __future__ import annotations

import socket

from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from gatewayd.sinks.mqtt.paho_client import PahoClient


class _Counting(PahoClient):
    sends = 0

    def _sock_send(self, buf: bytes | bytearray) -> int:
        self.sends += 1
        return super()._sock_send(buf)


def _client(sock: socket.socket) -> _Counting:
    c = _Counting(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv311)
    c._sock = sock  # as after a connect: publish() queues on it
    c.on_socket_register_write = lambda _c, _u, _s: None  # the loop writes, as in Connection
    return c


def _publishes(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(first byte, topic, payload) of each QoS 1 PUBLISH in a byte stream (short packets)."""
    out = []
    while data:
        head, length = data[0], data[1]
        body, data = data[2 : 2 + length], data[2 + length :]
        tlen = int.from_bytes(body[:2], "big")
        out.append((head, body[2 : 2 + tlen], body[2 + tlen + 2 :]))
    return out


def test_queued_publishes_go_out_in_one_send_in_order() -> None:
    ours, broker = socket.socketpair()
    with ours, broker:
        c = _client(ours)
        for i in range(5):
            c.publish(f"t/{i}", b"m%d" % i, qos=1, retain=i == 0)
        assert c.sends == 0
        c.loop_write()
        assert c.sends == 1
        assert not c.want_write()
        got = _publishes(broker.recv(65536))
    assert [(t, p) for _h, t, p in got] == [(b"t/%d" % i, b"m%d" % i) for i in range(5)]
    assert [h for h, _t, _p in got] == [0x33] + [0x32] * 4  # QoS 1, the first retained


def test_a_qos0_publish_is_written_on_its_own_and_reported() -> None:
    ours, broker = socket.socketpair()
    with ours, broker:
        c = _client(ours)
        c.publish("a", b"1", qos=1)
        info = c.publish("b", b"2", qos=0)
        c.publish("c", b"3", qos=1)
        c.loop_write()
        assert info.is_published()  # paho's bookkeeping for QoS 0 still runs
        assert c.sends == 3
        assert [t for _h, t, _p in _publishes(broker.recv(65536))] == [b"a", b"b", b"c"]


def test_pubacks_arriving_together_are_each_reported_in_order() -> None:
    ours, broker = socket.socketpair()
    acked: list[int] = []
    with ours, broker:
        ours.setblocking(False)
        c = _client(ours)
        c.on_publish = lambda _c, _u, mid, rc, _p: acked.append(mid) if not rc.is_failure else None
        mids = [c.publish(f"t/{i}", b"x", qos=1).mid for i in range(3)]
        c.loop_write()
        broker.sendall(b"".join(b"\x40\x02" + m.to_bytes(2, "big") for m in mids))
        c.loop_read()
        while c.unread:
            c.loop_read()
    assert acked == mids


def test_pubacks_split_across_reads_and_mixed_with_other_packets_are_all_reported() -> None:
    """A whole PUBACK in the read buffer is taken at once; one cut by the end of a read, or
    any other packet, goes through paho's reader, and the two take turns correctly."""
    ours, broker = socket.socketpair()
    acked: list[int] = []
    with ours, broker:
        ours.setblocking(False)
        c = _client(ours)
        c.on_publish = lambda _c, _u, mid, rc, _p: acked.append(mid) if not rc.is_failure else None
        mids = [c.publish(f"t/{i}", b"x", qos=1).mid for i in range(4)]
        c.loop_write()
        acks = [b"\x40\x02" + m.to_bytes(2, "big") for m in mids]
        c._last_bytes_received = 0.0
        broker.sendall(acks[0] + b"\xd0\x00" + acks[1] + acks[2][:3])  # a PINGRESP between
        c.loop_read()
        while c.unread:
            c.loop_read()
        assert acked == mids[:2]
        assert c._last_bytes_received > 0.0  # what paho's keepalive looks at
        broker.sendall(acks[2][3:] + acks[3] + acks[0])  # the rest; a repeated PUBACK
        c.loop_read()
        while c.unread:
            c.loop_read()
        assert not c._out_messages  # all acknowledged: none would be sent again
    assert acked == mids  # each once, in order
