"""One MQTT connection driven by the asyncio loop: a fresh paho client per attempt, never reused.

paho-mqtt speaks the protocol; this module only pumps its socket from the event loop
(add_reader / add_writer, loop_misc once a second for keepalive) and turns its callbacks into
plain method calls. The blocking parts of connecting (DNS, TCP, TLS handshake) run in a worker
thread so that a slow or unreachable broker never stalls the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from gatewayd.config.sections import MqttSettings
from gatewayd.errors import SinkError
from gatewayd.sinks.mqtt.paho_client import PahoClient
from gatewayd.sinks.mqtt.payload import OFFLINE

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600  # MQTT 5: keep the session a week (3.1.1: clean_session=False)

AckCallback = Callable[[int, bool], None]  # (mid, accepted by the broker)


class ConnectError(SinkError):
    """The attempt failed; `str()` says why in words an installer can act on."""


class NotConnected(SinkError):
    """publish() on a connection that is gone."""


def describe_os_error(e: BaseException, where: str) -> str:
    """A one-line, secret-free explanation of a failed connect."""
    if isinstance(e, ssl.SSLCertVerificationError):
        return f"TLS certificate of {where} not accepted: {e.verify_message}"
    if isinstance(e, ssl.SSLError):
        return f"TLS handshake with {where} failed: {e.reason or e}"
    if isinstance(e, ConnectionRefusedError):
        return f"connection refused by {where} (is the broker running?)"
    if isinstance(e, socket.gaierror):
        return f"cannot resolve {where}: {e.strerror}"
    if isinstance(e, TimeoutError):
        return f"timed out connecting to {where}"
    if isinstance(e, OSError):
        return f"cannot connect to {where}: {e.strerror or e}"
    return f"cannot connect to {where}: {e}"


def tls_context(settings: MqttSettings) -> ssl.SSLContext:
    """Verify the broker against ca_file (or the system CAs); present a client cert if given."""
    ctx = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if settings.cert_file is not None:
        ctx.load_cert_chain(
            str(settings.cert_file), str(settings.key_file) if settings.key_file else None
        )
    return ctx


class Connection:
    """Connect with `open()`; then publish(), watch `lost`, and `close()` or `abort()`."""

    def __init__(
        self,
        settings: MqttSettings,
        status_topic: str,
        on_ack: AckCallback,
        *,
        keep_session: bool = True,
    ) -> None:
        self._settings = settings
        self._keep_session = keep_session  # False: a one-off connection that leaves no session
        self._on_ack = on_ack
        self._loop = asyncio.get_running_loop()
        self._connack: asyncio.Future[None] = self._loop.create_future()
        self.lost: asyncio.Future[str] = self._loop.create_future()
        self._sock: Any = None
        self._attached = False  # paho callbacks before this come from the connect thread
        self._queueing = False  # inside publish(): writing is left to flush()
        self._unwritten = False  # publish() queued bytes that flush() has not written yet
        self._misc_task: asyncio.Task[None] | None = None
        v5 = settings.protocol == "5"
        self._v5 = v5
        client = PahoClient(
            CallbackAPIVersion.VERSION2,
            client_id=settings.effective_client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if v5 else not keep_session,
        )
        client.max_inflight_messages_set(settings.max_inflight)
        client.connect_timeout = settings.connect_timeout_s
        client.will_set(status_topic, OFFLINE, qos=1, retain=True)
        if settings.username is not None:
            password = settings.password.value if settings.password is not None else None
            client.username_pw_set(settings.username, password)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_publish = self._handle_publish
        client.on_row_ack = on_ack  # PUBACKs of publish_qos1(), after CONNACK only
        self._client = client
        self._where = f"{settings.host}:{settings.port}"

    async def open(self) -> None:
        """Connect and wait for CONNACK; raises ConnectError with a readable reason."""
        s = self._settings
        try:
            if s.tls:
                self._client.tls_set_context(tls_context(s))
        except (OSError, ssl.SSLError, ValueError) as e:
            raise ConnectError(f"cannot load TLS files: {e}") from e
        kwargs: dict[str, Any] = {}
        if self._v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            if self._keep_session:
                props.SessionExpiryInterval = SESSION_EXPIRY_S
            kwargs = {"clean_start": not self._keep_session, "properties": props}
        job = self._loop.run_in_executor(
            None, lambda: self._client.connect(s.host, s.port, s.keepalive, **kwargs)
        )
        try:
            rc = await asyncio.shield(job)
        except asyncio.CancelledError:
            job.add_done_callback(self._abandoned)
            raise
        except (OSError, ValueError) as e:
            raise ConnectError(describe_os_error(e, self._where)) from e
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._close_socket()
            raise ConnectError(f"cannot connect to {self._where}: {paho.error_string(rc)}")
        self._attach()
        try:
            async with asyncio.timeout(s.connect_timeout_s):
                await self._connack
        except TimeoutError:
            self.abort()
            raise ConnectError(
                f"no CONNACK from {self._where} within {s.connect_timeout_s} s"
            ) from None
        except ConnectError:
            self.abort()
            raise

    def _abandoned(self, job: asyncio.Future[MQTTErrorCode]) -> None:
        if not job.cancelled():
            job.exception()  # retrieved: the attempt was given up, its outcome no longer matters
        self._close_socket()

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False, flush: bool = True
    ) -> int:
        """Hand one message to paho and write it now (what the socket does not take is written
        when it is ready); returns its mid. `flush=False` queues it for the next `flush()`, so
        a batch costs one write attempt rather than a wake-up of the loop per message."""
        if self.lost.done():
            raise NotConnected(self.lost.result())
        if qos == 1 and (mid := self._client.publish_qos1(topic, payload, retain)) is not None:
            self._unwritten = True
            if flush:
                self.flush()
            return mid
        self._queueing = True
        try:
            info = self._client.publish(topic, payload, qos=qos, retain=retain)
        finally:
            self._queueing = False
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise NotConnected(paho.error_string(info.rc))
        if flush:
            self.flush()
        return info.mid

    def flush(self) -> None:
        """Write what publish() queued; the rest when the socket is writable again."""
        if not self._unwritten:
            return
        self._unwritten = False
        c = self._client
        c.loop_write()  # a failure ends the connection through paho's callbacks (`lost`)
        sock = c.socket()
        if sock is not None and c.want_write():
            self._loop.add_writer(sock, self._write)

    async def close(self, timeout: float) -> None:
        """Send DISCONNECT (so the broker drops the will) and wait for the socket to close."""
        if not self.lost.done():
            self._client.disconnect()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await asyncio.shield(self.lost)
        self.abort()

    def abort(self) -> None:
        """Drop the socket at once (the broker then publishes the will)."""
        self._close_socket()
        if not self.lost.done():
            self.lost.set_result("closed locally")

    # -------------------------------------------------------------- socket pump

    def _attach(self) -> None:
        sock = self._client.socket()
        if sock is None:  # closed between connect() and here
            raise ConnectError(f"connection to {self._where} closed during connect")
        self._sock = sock
        self._attached = True
        if isinstance(sock, socket.socket):  # also ssl.SSLSocket: small PUBLISHes go out at once
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = self._client
        c.on_socket_close = self._handle_socket_close
        c.on_socket_register_write = self._handle_register_write
        c.on_socket_unregister_write = self._handle_unregister_write
        self._loop.add_reader(sock, self._read)
        if c.want_write():
            self._loop.add_writer(sock, self._write)
        self._misc_task = self._loop.create_task(self._misc())

    def _read(self) -> None:
        c = self._client
        c.loop_read()
        sock = c.socket()
        # Bytes already read, or decrypted bytes TLS holds, are invisible to the selector:
        # drain them now.
        while sock is not None and (c.unread or getattr(sock, "pending", lambda: 0)() > 0):
            c.loop_read()
            sock = c.socket()

    def _write(self) -> None:
        self._client.loop_write()

    async def _misc(self) -> None:
        while self._client.socket() is not None:
            await asyncio.sleep(1.0)
            self._client.loop_misc()

    def _close_socket(self) -> None:
        sock = self._sock or self._client.socket()
        self._sock = None
        if self._misc_task is not None:
            self._misc_task.cancel()
            self._misc_task = None
        if sock is not None:
            self._detach(sock)
            with contextlib.suppress(OSError):
                sock.close()

    def _detach(self, sock: Any) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)

    # -------------------------------------------------------------- paho callbacks

    def _handle_socket_close(self, _c: paho.Client, _u: Any, sock: Any) -> None:
        self._detach(sock)

    def _handle_register_write(self, _c: paho.Client, _u: Any, sock: Any) -> None:
        if self._queueing:
            self._unwritten = True
            return
        self._loop.add_writer(sock, self._write)

    def _handle_unregister_write(self, _c: paho.Client, _u: Any, sock: Any) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_writer(sock)

    def _handle_connect(
        self, _c: paho.Client, _u: Any, _flags: Any, rc: ReasonCode, _p: Properties | None
    ) -> None:
        if not self._attached or self._connack.done():
            return
        if rc.is_failure:
            hint = ""
            if rc.getName() in ("Bad user name or password", "Not authorized"):
                hint = " (check [mqtt] username and password)"
            self._connack.set_exception(
                ConnectError(f"broker {self._where} refused the connection: {rc}{hint}")
            )
        else:
            self._connack.set_result(None)

    def _handle_disconnect(
        self, _c: paho.Client, _u: Any, flags: Any, rc: ReasonCode, _p: Properties | None
    ) -> None:
        if not self._attached:
            return  # the connect thread: open() reports the failure itself
        if getattr(flags, "is_disconnect_packet_from_server", False):
            reason = f"broker sent DISCONNECT: {rc}"
        elif rc.getName() == "Unspecified error":
            reason = "connection closed by the broker or the network"
        else:
            reason = str(rc)
        if not self._connack.done():
            self._connack.set_exception(ConnectError(f"{self._where}: {reason}"))
        if not self.lost.done():
            self.lost.set_result(reason)

    def _handle_publish(
        self, _c: paho.Client, _u: Any, mid: int, rc: ReasonCode, _p: Properties | None
    ) -> None:
        if not self._attached:
            return
        self._on_ack(mid, not rc.is_failure)
