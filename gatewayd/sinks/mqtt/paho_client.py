"""paho's MQTT client with what the daemon's per-reading path needs done differently.

It relies on paho 2.2's internals (_packet_write, _sock_recv, _handle_pubackcomp,
_ssl_wrap_socket, _out_packet, _out_messages, _inflight_messages, _last_mid), so pyproject.toml
pins paho-mqtt to 2.2.x; the tests against a real mosquitto exercise every override.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from typing import Any, Literal

import paho.mqtt.client as paho
from paho.mqtt._packet import decode_puback
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

RECV_CHUNK = 65536
MERGE_MAX = 65536  # bytes of queued packets written by one send()
PUBACK_BYTE = paho.PUBACK  # fixed header byte of a PUBACK (type 4, no flags)

_QOS1 = paho.PUBLISH | 2  # fixed header byte of a QoS 1 PUBLISH, not retained, not a DUP

_PUBACK_OK = ReasonCode(PacketTypes.PUBACK)
_NO_PROPERTIES = Properties(PacketTypes.PUBACK)  # type: ignore[no-untyped-call]


class PahoClient(paho.Client):
    """paho's client, closing the socket when the TLS handshake fails, and reading a plain
    PUBACK without building objects for it.

    paho (2.2) leaves the half-made TLS socket to the garbage collector when the handshake
    raises; with a broker that keeps refusing our certificate that is one leaked socket per
    attempt until the next collection. It also builds a fresh ReasonCode and Properties for
    every PUBACK (about 40 us each here, in every protocol version): a two-byte PUBACK (3.1.1,
    or an MQTT 5 success without properties) gets shared, never-modified ones instead. And it
    reads a packet in two or three recv() calls of a few bytes: here one recv() takes what the
    socket has, and paho's reads are served from it (`unread` says how much is left); a plain
    PUBACK found whole there is handled at once, without paho's byte-by-byte framing. Queued
    packets that need nothing done once written go out in one send() rather than one each.

    `publish_qos1()` is paho's publish() for the outbox's rows (QoS 1, no properties), built as
    bytes in one go: paho makes an MQTTMessage with a Condition per message, checks and logs,
    and on its PUBACK walks every message it holds. Those rows are counted in paho's in-flight
    window (so paho's own QoS 1 messages still queue behind a full one) but kept apart from
    paho's messages: a client is never reused for a second connection (what was in flight is
    sent again from the outbox), so nothing of paho's resend-on-reconnect is needed for them.
    Their PUBACKs go to `on_row_ack(mid, accepted)`.
    """

    on_row_ack: Callable[[int, bool], None] | None = None
    _rows: set[int] | None = None  # mids of publish_qos1() messages in flight

    def publish_qos1(self, topic: str, payload: bytes, retain: bool) -> int | None:
        """Queue a QoS 1 PUBLISH for the caller's own loop_write(); return its mid, or None
        when paho's publish() must take it: not connected, the in-flight window full (paho
        queues it, in order), or a topic paho would refuse (it raises)."""
        if self._sock is None or self._inflight_messages >= self._max_inflight_messages > 0:
            return None
        t = topic.encode()
        if not t or len(t) > 0xFFFF or b"+" in t or b"#" in t:
            return None
        rows = self._rows
        if rows is None:
            rows = self._rows = set()
        taken = self._out_messages
        mid = self._last_mid
        while True:  # as _mid_generate(), skipping a mid still in flight (after a wrap)
            mid = mid + 1 if mid < 0xFFFF else 1
            if mid not in rows and mid not in taken:
                break
        self._last_mid = mid
        v5 = self._protocol == MQTTProtocolVersion.MQTTv5
        n = 4 + len(t) + len(payload) + v5  # remaining length
        if n > 268_435_455:
            return None
        head = bytearray((_QOS1 | retain,))
        while n > 0x7F:
            head.append(n & 0x7F | 0x80)
            n >>= 7
        head.append(n)
        head += len(t).to_bytes(2, "big")
        head += t
        head += mid.to_bytes(2, "big")
        if v5:
            head.append(0)  # no properties
        head += payload
        self._out_packet.append(
            {
                "command": paho.PUBLISH,
                "mid": mid,
                "qos": 1,
                "pos": 0,
                "to_process": len(head),
                "packet": head,
                "info": None,
            }
        )
        self._inflight_messages += 1
        rows.add(mid)
        return mid

    def _row_acked(self, mid: int, ok: bool) -> MQTTErrorCode:
        rows = self._rows
        assert rows is not None
        rows.discard(mid)
        self._inflight_messages -= 1
        if self.on_row_ack is not None:
            self.on_row_ack(mid, ok)
        if self._out_messages:  # paho's own, maybe queued behind a full window: sent now
            with self._out_message_mutex:
                return self._update_inflight()
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _packet_write(self) -> MQTTErrorCode:
        out = self._out_packet
        if len(out) > 1 and _plain(out[0]) and _plain(out[1]):
            first = out.popleft()
            merged = bytearray(first["packet"])
            while out and _plain(out[0]) and len(merged) < MERGE_MAX:
                merged += out.popleft()["packet"]
            out.appendleft(
                {
                    "command": first["command"],
                    "mid": first["mid"],
                    "qos": first["qos"],
                    "pos": 0,
                    "to_process": len(merged),
                    "packet": merged,
                    "info": None,
                }
            )
        return super()._packet_write()

    _rbuf = b""
    _rpos = 0

    @property
    def unread(self) -> int:
        return len(self._rbuf) - self._rpos

    def _sock_recv(self, bufsize: int) -> bytes:
        pos, buf = self._rpos, self._rbuf
        if pos >= len(buf):
            buf = super()._sock_recv(RECV_CHUNK)  # raises as paho expects (BlockingIOError)
            if len(buf) <= bufsize:
                return buf  # b"": closed by the broker
            self._rbuf, pos = buf, 0
        self._rpos = end = min(pos + bufsize, len(buf))
        return buf[pos:end]

    def _packet_read(self) -> MQTTErrorCode:
        buf, pos = self._rbuf, self._rpos
        if pos >= len(buf) and self._in_packet["command"] == 0:  # a new read: into the buffer
            try:
                buf = super()._sock_recv(RECV_CHUNK)
            except BlockingIOError:
                return MQTTErrorCode.MQTT_ERR_AGAIN
            except OSError as err:  # as paho's own read
                self._easy_log(paho.MQTT_LOG_ERR, "failed to receive on socket: %s", err)
                return MQTTErrorCode.MQTT_ERR_CONN_LOST
            if not buf:
                return MQTTErrorCode.MQTT_ERR_CONN_LOST
            self._rbuf, self._rpos, pos = buf, 0, 0
        if (
            len(buf) - pos >= 4
            and buf[pos] == PUBACK_BYTE
            and buf[pos + 1] == 2
            and self._in_packet["command"] == 0
        ):  # a whole plain PUBACK already read: taken as paho would, without its framing
            self._rpos = pos + 4
            with self._msgtime_mutex:
                self._last_bytes_received = paho.time_func()
            mid = (buf[pos + 2] << 8) | buf[pos + 3]
            if self._rows and mid in self._rows:
                return self._row_acked(mid, True)
            with self._out_message_mutex:
                if mid in self._out_messages:
                    return self._do_on_publish(mid, _PUBACK_OK, _NO_PROPERTIES)
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._packet_read()

    def _handle_pubackcomp(self, cmd: Literal["PUBACK", "PUBCOMP"]) -> MQTTErrorCode:
        packet = self._in_packet["packet"]
        if cmd != "PUBACK":
            return super()._handle_pubackcomp(cmd)
        if len(packet) != 2:  # MQTT 5 with a reason code (a refusal, say)
            ack = decode_puback(self._in_packet["command"], packet, self._protocol)
            if self._rows and ack.mid in self._rows:
                return self._row_acked(ack.mid, not ack.reason.is_failure)
            return super()._handle_pubackcomp(cmd)
        mid = (packet[0] << 8) | packet[1]
        if self._rows and mid in self._rows:
            return self._row_acked(mid, True)
        with self._out_message_mutex:
            if mid in self._out_messages:
                return self._do_on_publish(mid, _PUBACK_OK, _NO_PROPERTIES)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _ssl_wrap_socket(self, tcp_sock: socket.socket) -> ssl.SSLSocket:
        ctx = self._ssl_context
        if ctx is None:  # paho only calls this with TLS configured
            raise ValueError("TLS requested without an SSL context")
        sock = ctx.wrap_socket(tcp_sock, server_hostname=self._host, do_handshake_on_connect=False)
        try:
            sock.settimeout(self._connect_timeout)
            sock.do_handshake()  # the context checks the host name (check_hostname=True)
        except BaseException:
            sock.close()
            raise
        return sock


def _plain(packet: Any) -> bool:
    """A packet not begun whose writing paho follows with nothing (a QoS 0 PUBLISH is reported
    written; a DISCONNECT closes the socket)."""
    kind = packet["command"] & 0xF0
    return bool(
        packet["pos"] == 0
        and kind != paho.DISCONNECT
        and not (kind == paho.PUBLISH and packet["qos"] == 0)
    )
