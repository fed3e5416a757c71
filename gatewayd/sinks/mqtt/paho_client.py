"""paho's MQTT client with what the daemon's per-reading path needs done differently.

It relies on paho 2.2's internals (_packet_write, _sock_recv, _handle_pubackcomp,
_ssl_wrap_socket), so pyproject.toml pins paho-mqtt to 2.2.x; the tests against a real
mosquitto exercise every override.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any, Literal

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

RECV_CHUNK = 65536
MERGE_MAX = 65536  # bytes of queued packets written by one send()
PUBACK_BYTE = paho.PUBACK  # fixed header byte of a PUBACK (type 4, no flags)

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
    """

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
            with self._out_message_mutex:
                if mid in self._out_messages:
                    return self._do_on_publish(mid, _PUBACK_OK, _NO_PROPERTIES)
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._packet_read()

    def _handle_pubackcomp(self, cmd: Literal["PUBACK", "PUBCOMP"]) -> MQTTErrorCode:
        packet = self._in_packet["packet"]
        if cmd != "PUBACK" or len(packet) != 2:
            return super()._handle_pubackcomp(cmd)
        mid = (packet[0] << 8) | packet[1]
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
