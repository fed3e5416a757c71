"""The MQTT supervisor: one visible loop that connects, drains the outbox, and reconnects.

Per attempt: a fresh `Connection`; on success publish `online` (retained; `offline` is the
will) and every known Home Assistant discovery config (kept in memory, never in the outbox;
ha_state.py) with the empty retained messages that take back configs no longer announced,
then send outbox rows oldest first, up to `max_inflight` unacknowledged, forgetting each row
when its PUBACK arrives. On any failure: exponential backoff with jitter, then a new attempt
from the oldest row still waiting (rows sent but not acknowledged are sent again: delivery is
at-least-once, in order). The backoff keeps growing across connect-then-drop cycles and starts
over only once a link has stayed up `stable_after_s`. With messages in flight and no PUBACK for
`puback_timeout_s`, the connection is dropped and the rows resent on a new one.

Each state change (connected, lost with its reason, connect failed with its reason) is logged
once; the same change again, until a link has been stable, goes to DEBUG with a count. A link
lost within seconds of CONNACK, before any PUBACK, gets a hint: another client with our id?
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gatewayd.config.sections import MqttSettings
from gatewayd.errors import backoff_delay
from gatewayd.sinks.mqtt.ha_state import Discovery
from gatewayd.sinks.mqtt.payload import OFFLINE, ONLINE, Topics
from gatewayd.sinks.outbox import Outbox, OutboxError
from gatewayd.tasks import cancel_and_wait

if TYPE_CHECKING:  # paho's import is the costliest of all: made by run(), after READY=1
    from gatewayd.sinks.mqtt.connection import Connection

log = logging.getLogger("gatewayd.sinks.mqtt")

DeliveredHook = Callable[[int, float], None]  # (outbox seq, time.time() when it was put)

EARLY_DROP_S = 3.0  # a link lost this soon after CONNACK, before any PUBACK, gets a hint


def _jitter() -> float:
    """A uniform number in [0, 1) for the reconnect back-off's jitter (the random module,
    with its imports, is not loaded before READY=1 for this one use)."""
    return int.from_bytes(os.urandom(7), "big") / (1 << 56)


@dataclass
class Counters:
    delivered: int = 0  # outbox rows acknowledged by the broker
    rejected: int = 0  # rows the broker refused in its PUBACK (MQTT 5 reason code); dropped
    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    puback_timeouts: int = 0  # connections dropped because PUBACKs stopped coming
    errors: int = 0  # readings publish() could not store, outbox I/O failures


@dataclass
class _Session:
    """Book-keeping of one connection: what is in flight and what came back."""

    conn: Connection
    inflight: dict[int, tuple[int, float]] = field(default_factory=dict)  # mid -> (seq, created)
    direct: dict[int, asyncio.Future[bool]] = field(default_factory=dict)  # mid -> PUBACK ok
    clears: dict[int, str] = field(default_factory=dict)  # mid -> topic of an empty retained
    cursor: int = 0  # highest outbox seq handed to this connection
    discovery_version: int = 0  # Discovery.version last sent on this connection
    progress_at: float = 0.0  # loop time of the last PUBACK, or of sending into an empty window
    acks: int = 0  # PUBACKs on this connection
    watchdog: asyncio.TimerHandle | None = None  # wakes the pump when PUBACKs may be overdue


class Supervisor:
    """Runs until stopped. The sink owns the outbox; this only reads and deletes rows."""

    def __init__(
        self,
        settings: MqttSettings,
        outbox: Outbox,
        topics: Topics,
        *,
        discovery: Discovery,
        stats_payload: Callable[[], Mapping[str, Any]],
        counters: Counters,
        on_delivered: DeliveredHook | None = None,
        rnd: Callable[[], float] | None = None,
    ) -> None:
        self._s = settings
        self._outbox = outbox
        self._topics = topics
        self._discovery = discovery
        self._stats_payload = stats_payload
        self._counters = counters
        self._on_delivered = on_delivered
        self._rnd = rnd or _jitter
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._drain_until = 0.0
        self._goodbye_s = 0.5
        self._session: _Session | None = None
        self._logged: dict[str, int] = {}  # state change -> times seen since the link held
        self._last_problem = "start"  # what the last back-off was for (a log key)
        self._rejected_logged = False
        self._where = f"{settings.host}:{settings.port}"

    @property
    def connected(self) -> bool:
        return self._session is not None

    def wake(self) -> None:
        """New rows in the outbox."""
        self._wake.set()

    def request_stop(self, drain_until: float, goodbye_s: float) -> None:
        """Drain until loop time `drain_until`, then take `goodbye_s` to say `offline` and
        disconnect. Backing off: return at once; connecting: finish that attempt first."""
        self._drain_until = drain_until
        self._goodbye_s = goodbye_s
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        from gatewayd.sinks.mqtt.connection import (  # noqa: PLC0415 (paho: after READY=1)
            ConnectError,
            Connection,
            NotConnected,
        )

        failures = 0
        while True:  # the first attempt is made even when a stop is already requested
            session = _Session(Connection(self._s, self._topics.status, self._ack))
            try:
                await session.conn.open()
            except ConnectError as e:
                failures += 1
                self._counters.connect_failures += 1
                if self._stop.is_set():
                    return
                await self._back_off(f"failed:{e}", str(e), failures)
                if self._stop.is_set():
                    return
                continue
            self._counters.connects += 1
            self._session = session
            loop = asyncio.get_running_loop()
            up_at = session.progress_at = loop.time()
            try:
                reason = await self._serve(session)
            except (NotConnected, OutboxError) as e:
                reason = str(e)
            except Exception as e:  # a bug must not end delivery: log it, reconnect
                log.exception("MQTT: unexpected error while connected to %s", self._where)
                reason = f"internal error: {e!r}"
            finally:
                self._session = None
                session.conn.abort()
            if reason is None or self._stop.is_set():
                return
            self._counters.disconnects += 1
            up_s = loop.time() - up_at
            if up_s >= self._s.stable_after_s:
                failures = 0  # a link that held: start the backoff over, log afresh
                self._logged.clear()
            failures += 1
            text = f"connection to {self._where} lost: {reason}"
            if up_s < EARLY_DROP_S and not session.acks:
                text += (
                    f" {up_s:.1f} s after CONNACK, before any PUBACK (another client with id "
                    f"'{self._s.effective_client_id}' connected? a second gateway with the same "
                    "client_id or gateway id makes the broker drop one of them; or the broker "
                    "refuses QoS 1 publishes on these topics)"
                )
            await self._back_off(f"lost:{reason}", text, failures)
            if self._stop.is_set():
                return

    def _note(self, key: str, level: int, msg: str, *args: object) -> None:
        """Log a state change once at `level`; the same change again only at DEBUG, counted."""
        n = self._logged.get(key, 0) + 1
        self._logged[key] = n
        if n == 1:
            log.log(level, msg, *args)
        elif log.isEnabledFor(logging.DEBUG):
            log.debug(msg + " (%d times since the link was last stable)", *args, n)

    # ------------------------------------------------------------------ one connection

    async def _serve(self, session: _Session) -> str | None:
        """Deliver until the connection is lost (returns why) or a stop is drained (None)."""
        conn = session.conn
        conn.lost.add_done_callback(lambda _f: self._wake.set())
        self._note(
            f"connected after {self._last_problem}",
            logging.INFO,
            "MQTT connected to %s as %s (MQTT %s); %d messages waiting in the outbox",
            self._where,
            self._s.effective_client_id,
            self._s.protocol,
            len(self._outbox),
        )
        conn.publish(self._topics.status, ONLINE, retain=True)
        stats_task = asyncio.create_task(self._publish_stats(conn))
        try:
            return await self._pump(session)
        finally:
            await cancel_and_wait(stats_task)

    async def _pump(self, session: _Session) -> str | None:
        conn, loop = session.conn, asyncio.get_running_loop()
        try:
            while True:
                if conn.lost.done():
                    return conn.lost.result()
                if self._stop.is_set():
                    empty = len(self._outbox) == 0 and not session.inflight
                    if empty or loop.time() >= self._drain_until:
                        await self._say_offline(session, self._goodbye_s)
                        return None
                now = loop.time()
                if session.inflight and now - session.progress_at >= self._s.puback_timeout_s:
                    self._counters.puback_timeouts += 1
                    return (
                        f"no PUBACK for {self._s.puback_timeout_s:g} s with "
                        f"{len(session.inflight)} messages in flight; reconnecting to resend them"
                    )
                self._send(session)
                self._wake.clear()
                if not self._stop.is_set():
                    await self._wake.wait()
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, self._drain_until - now)):
                        await self._wake.wait()
        finally:
            if session.watchdog is not None:
                session.watchdog.cancel()

    def _send(self, session: _Session) -> None:
        """Discovery configs that changed, then outbox rows up to the window, written at once."""
        conn = session.conn
        if self._discovery.version != session.discovery_version:
            # New configs, or a new connection (the broker may have lost retained ones).
            # Topics taken back first, each kept until its PUBACK.
            for topic in self._discovery.clears_since(session.discovery_version):
                session.clears[conn.publish(topic, b"", retain=True, flush=False)] = topic
            for topic, payload in self._discovery.since(session.discovery_version):
                conn.publish(topic, payload, retain=True, flush=False)
            session.discovery_version = self._discovery.version
        room = self._s.max_inflight - len(session.inflight)
        if room > 0:
            if not session.inflight:
                session.progress_at = asyncio.get_running_loop().time()
            for e in self._outbox.after(session.cursor, room):
                mid = conn.publish(e.topic, e.payload, retain=e.retain, flush=False)
                session.inflight[mid] = (e.seq, e.created)
                session.cursor = e.seq
        conn.flush()
        if session.inflight and session.watchdog is None:  # wakes the pump to check PUBACKs
            due = session.progress_at + self._s.puback_timeout_s
            session.watchdog = asyncio.get_running_loop().call_at(due, self._watchdog, session)

    def deliver(self) -> None:
        """New rows in the outbox: sent at once when connected (no wake-up of the pump).
        Never raises: whatever goes wrong, the pump meets it again and handles it."""
        session = self._session
        if session is None or self._stop.is_set() or session.conn.lost.done():
            self._wake.set()
            return
        try:
            self._send(session)
        except Exception:
            self._wake.set()

    def _watchdog(self, session: _Session) -> None:
        session.watchdog = None
        self._wake.set()  # the pump checks for progress and re-arms it

    def _ack(self, mid: int, ok: bool) -> None:
        """paho's on_publish, on the loop thread, for every PUBACK of this connection."""
        session = self._session
        if session is None:
            self._wake.set()
            return
        if (fut := session.direct.pop(mid, None)) is not None:
            if not fut.done():
                fut.set_result(ok)
            return
        if (cleared := session.clears.pop(mid, None)) is not None:
            self._discovery.cleared(cleared)
            return
        item = session.inflight.pop(mid, None)
        if item is None:
            return
        seq, created = item
        self._outbox.forget((seq,))  # never handed out again; deleted soon
        session.acks += 1
        session.progress_at = asyncio.get_running_loop().time()
        if self._stop.is_set() or len(session.inflight) == self._s.max_inflight - 1:
            self._wake.set()  # draining, or the window was full: the pump sends more
        if ok:
            self._counters.delivered += 1
            if self._on_delivered is not None:
                self._on_delivered(seq, created)
        else:
            self._counters.rejected += 1
            if not self._rejected_logged:
                self._rejected_logged = True
                log.error(
                    "MQTT broker %s refused a message (PUBACK reason code); it is dropped and "
                    "counted as 'rejected'. Check the broker's ACL for %s",
                    self._where,
                    self._topics.base,
                )

    async def _say_offline(self, session: _Session, budget: float) -> None:
        from gatewayd.sinks.mqtt.connection import NotConnected  # noqa: PLC0415 (loaded by run)

        conn = session.conn
        budget = max(0.05, budget)
        with contextlib.suppress(NotConnected, TimeoutError):
            fut = asyncio.get_running_loop().create_future()
            session.direct[conn.publish(self._topics.status, OFFLINE, retain=True)] = fut
            async with asyncio.timeout(budget / 2):
                await fut
        await conn.close(budget / 2)
        log.info("MQTT disconnected from %s; %d left in the outbox", self._where, len(self._outbox))

    async def _publish_stats(self, conn: Connection) -> None:
        from gatewayd.meters.jsonbytes import to_json  # noqa: PLC0415 (orjson: after READY=1)
        from gatewayd.sinks.mqtt.connection import NotConnected  # noqa: PLC0415 (loaded by run)

        while True:
            await asyncio.sleep(self._s.stats_interval_s)
            try:
                payload = to_json(self._stats_payload())
            except Exception:
                self._counters.errors += 1
                log.exception("MQTT: stats provider failed; stats not published this time")
                continue
            with contextlib.suppress(NotConnected):
                conn.publish(self._topics.stats, payload)

    # ------------------------------------------------------------------ between connections

    async def _back_off(self, key: str, problem: str, failures: int) -> None:
        self._last_problem = key
        delay = backoff_delay(failures, self._s.reconnect_min_s, self._s.reconnect_max_s, self._rnd)
        self._note(
            key,
            logging.WARNING,
            "MQTT: %s; retrying in %.3g s (backoff up to %g s); %d messages kept in the outbox",
            problem,
            delay,
            self._s.reconnect_max_s,
            len(self._outbox),
        )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._stop.wait()
