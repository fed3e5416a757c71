"""MqttSink: the Sink (gatewayd.sinks.base) that stores readings in the outbox for MQTT."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gatewayd.config.sections import MqttSettings
from gatewayd.sinks.base import HealthReport, HealthSource, StatsProvider
from gatewayd.sinks.mqtt.ha_state import ANNOUNCED_FILE, Discovery
from gatewayd.sinks.mqtt.payload import Topics, alarm_payload, health_payload
from gatewayd.sinks.mqtt.reconcile import reconcile, state_topics
from gatewayd.sinks.mqtt.supervisor import Counters, DeliveredHook, Supervisor
from gatewayd.sinks.outbox import Message, Outbox, OutboxError
from gatewayd.sinks.writer import settle
from gatewayd.tasks import cancel_and_wait

if TYPE_CHECKING:  # the meter model is loaded after READY=1, with the decode side
    from gatewayd.sinks.base import Reading

log = logging.getLogger("gatewayd.sinks.mqtt")

CLEAR_RETRY_S = 5.0  # a clear that could not be stored (disk full) is tried again this often

Stored = Callable[[BaseException | None], None]  # store_soon's answer: None when stored


class MqttSink:
    """Readings to an MQTT broker through an on-disk outbox (docs/mqtt.md).

    Construct it inside or outside the event loop; it opens (or creates) the outbox
    `settings.state_dir / "mqtt-outbox.sqlite3"` at once, so an unwritable state dir fails here
    with `gatewayd.sinks.outbox.OutboxError` (report it as a configuration error, exit 2).
    Rows left by a previous run are delivered first, in order.

    - `publish(reading, alarm_changed=...)`: returns at once and never raises. The reading
      (a typed Reading) is stored as the retained `<prefix>/<gateway>/meters/<id>`
      message, plus an `alarms/<id>` message when `alarm_changed`, plus the Home Assistant
      discovery configs when `settings.ha_discovery` and the meter or its field set is new.
      A reading without a usable `id` is logged once and counted under `errors`.
    - `await start()`: launches the supervisor task (connect, deliver, reconnect forever).
    - `await stop(timeout)`: delivers what it can within `timeout` seconds, publishes `offline`
      (retained), disconnects, closes the outbox. Whatever is left stays for the next run.
    - `stats()`: counters (see `Counters`) plus `queued` (rows waiting) and `connected` (0/1).

    `stats_provider` returns the daemon's counters; the sink publishes them as JSON to
    `<prefix>/<gateway>/stats` every `settings.stats_interval_s` while connected (QoS 1, not
    retained), adding `timestamp` (UTC) and this sink's own counters under `mqtt` unless
    the provider already has those keys. Without a provider only those two keys go out.
    Per-meter health (`HealthSink`): the retained `health/<id>` message of each meter whose
    state changed is sent at once (or on the next connect), all of them again with the stats,
    and an empty retained message clears the topic of a meter removed from the config. Like
    the discovery configs they are kept in memory, never in the outbox.
    `on_delivered(seq, created)` (optional, for benchmarks) is called on every PUBACK with the
    outbox row's sequence number and the `time.time()` at which it was stored.

    `meters` (the configured meter ids; None: unknown) lets it take back what it published for
    meters no longer configured: their discovery configs and, through the outbox after their
    last readings, their retained reading (`forget_meters` does the same on a reload). What was
    announced is kept in `<state_dir>/ha-announced.json` (ha_state.py), so this also works for
    a meter removed while the daemon was down, and turning `ha_discovery` off clears the configs.
    """

    name = "mqtt"

    def __init__(
        self,
        settings: MqttSettings,
        stats_provider: StatsProvider | None = None,
        *,
        on_delivered: DeliveredHook | None = None,
        meters: Collection[str] | None = None,
    ) -> None:
        self.settings = settings
        self.topics = Topics(settings.prefix, settings.gateway_id)
        self._stats_provider = stats_provider
        self._on_delivered = on_delivered
        announced = settings.state_dir / ANNOUNCED_FILE
        # An outbox but no record of what was announced: a release from before that record,
        # which keyed meter devices on the gateway id (their configs are cleared once).
        upgrading = settings.outbox_path.exists() and not announced.exists()
        self._outbox = Outbox(settings.outbox_path, settings.outbox_max)
        self._counters = Counters()
        self._discovery = Discovery(  # and the health messages
            announced,
            sweep_legacy=upgrading,
            state_prefixes=(self.topics.meter(""), self.topics.health("")),
        )
        self._health_source: HealthSource | None = None
        self._config_keys: dict[str, Hashable] = {}  # meter -> config_key of its configs
        self._frames_at: tuple[float, int] | None = None  # (time, frames) of the last stats
        self._supervisor: Supervisor | None = None
        self._task: asyncio.Task[None] | None = None
        self._overflow_logged = False
        self._unstored_clears: dict[str, set[str]] = {}  # owner -> state topics not stored yet
        self._clear_timer: asyncio.TimerHandle | None = None  # retries _unstored_clears
        self._error_logged = False
        self._closed = False
        self._reconcile(meters)

    def _reconcile(self, meters: Collection[str] | None) -> None:
        """Take back, once at start, what earlier runs announced and is no longer wanted."""
        self._clear_state(reconcile(self._discovery, self.topics, self.settings, meters))

    def forget_meters(self, meter_ids: Collection[str]) -> None:
        """Meters removed from the config: clear their discovery configs and retained topics."""
        if self._closed:  # stopping: the next start clears them (they are not in its config)
            return
        clears = {mid: self._discovery.forget(mid, save=False) for mid in meter_ids}
        self._discovery.save()
        for mid in meter_ids:
            self._config_keys.pop(mid, None)
        self._clear_state(clears)
        if self._supervisor is not None:
            self._supervisor.wake()

    def _clear_state(self, clears: Mapping[str, list[str]]) -> None:
        """Empty retained messages (owner -> its state topics) through the outbox, after the
        readings already queued. Ones that cannot be stored (disk full) wait in memory and go
        with the next readings stored or the next clear, or are tried again every
        CLEAR_RETRY_S (nothing else may come: a removed meter sends no reading);
        ha-announced.json keeps them on record until they are stored, so a restart clears
        them too."""
        for owner, topics in clears.items():
            if topics:
                self._unstored_clears.setdefault(owner, set()).update(topics)
        if not self._unstored_clears:
            return
        pending, self._unstored_clears = self._unstored_clears, {}
        try:
            self._outbox.put_many(_clear_messages(pending))
        except Exception as e:
            self._keep_unstored(pending)
            self._store_failed(e)
            self._retry_clears_later()
            return
        self._clears_stored(pending)

    def _retry_clears_later(self) -> None:
        if self._clear_timer is not None or self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # built outside the loop: start() arms it
            return
        self._clear_timer = loop.call_later(CLEAR_RETRY_S, self._retry_clears)

    def _retry_clears(self) -> None:
        """A commit of the waiting clears alone, in the writer thread (a failure is counted by
        the outbox, in write_failures); sent once stored, as readings are."""
        self._clear_timer = None
        if self._unstored_clears and not self._closed:
            self.store_soon([], self._clears_retried)

    def _clears_retried(self, error: BaseException | None) -> None:
        if error is not None:
            self._retry_clears_later()

    def _keep_unstored(self, pending: dict[str, set[str]]) -> None:
        for owner, topics in pending.items():
            self._unstored_clears.setdefault(owner, set()).update(topics)

    def _clears_stored(self, pending: dict[str, set[str]]) -> None:
        changed = False  # one write of ha-announced.json for them all, not one per owner
        for owner, topics in pending.items():
            changed |= self._discovery.state_stored(owner, topics, save=False)
        if changed:
            self._discovery.save()

    async def start(self) -> None:
        if self._task is not None:
            return
        self._supervisor = Supervisor(
            self.settings,
            self._outbox,
            self.topics,
            discovery=self._discovery,
            stats_payload=self._stats_payload,
            counters=self._counters,
            on_delivered=self._on_delivered,
        )
        self._task = asyncio.create_task(self._supervisor.run(), name="mqtt-supervisor")
        if self._unstored_clears:  # they met a full disk before the loop ran
            self._retry_clears_later()

    def publish(self, reading: Reading, *, alarm_changed: bool = False) -> None:
        """Store one reading now (one fsynced commit on the calling thread). The daemon goes
        through `stage()` + `store()` instead, which batch and keep the loop free."""
        try:
            if self._closed:
                raise RuntimeError("sink is stopped")
            messages = self.stage(reading, alarm_changed=alarm_changed)
        except Exception as e:
            self._store_failed(e)
            return
        pending, self._unstored_clears = self._unstored_clears, {}  # first: they came first
        try:
            dropped = self._outbox.put_many([*_clear_messages(pending), *messages])
        except Exception as e:
            self._keep_unstored(pending)
            self._store_failed(e)
            return
        self._clears_stored(pending)
        self._stored(dropped)

    def stage(self, reading: Reading, *, alarm_changed: bool = False) -> list[Message]:
        """The outbox rows for one reading (its JSON encoded once for all sinks, by
        Reading.json_bytes). Home Assistant discovery configs for a meter or
        field set not seen before are remembered (never stored: they are sent on every
        connect, and at once when new)."""
        mid = reading.id
        if self.settings.ha_discovery:  # imported at start (reconcile.py) when it is on
            from gatewayd.sinks.mqtt.discovery import (  # noqa: PLC0415
                config_key,
                discovery_configs,
                legacy_config_topics,
            )
        if self.settings.ha_discovery and self._config_keys.get(mid) != (
            key := config_key(reading)
        ):
            self._config_keys[mid] = key
            configs = tuple(
                (c.topic, c.payload())
                for c in discovery_configs(reading, self.topics, self.settings.ha_prefix)
            )
            legacy = legacy_config_topics(reading, self.topics, self.settings.ha_prefix)
            if self._discovery.update(mid, configs, legacy) and self._supervisor is not None:
                self._supervisor.wake()
        if not self._discovery.has_state(mid):  # remembered once, to be cleared on removal
            self._clear_state(
                {mid: self._discovery.note_state(mid, state_topics(self.topics, mid))}
            )
        messages = [(self.topics.meter(mid), reading.json_bytes(), True)]
        if alarm_changed:
            messages.append((self.topics.alarms(mid), alarm_payload(reading), False))
        return messages

    async def store(self, staged: Sequence[list[Message]]) -> None:
        """Commit staged readings to disk in one transaction (fsynced) before returning.
        Raises OutboxError (disk full, I/O error): the caller keeps them and retries."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.store_soon(staged, functools.partial(settle, fut, None))
        await fut

    def store_soon(self, staged: Sequence[list[Message]], done: Stored) -> None:
        """What store() does, answered by `done(None)` or `done(error)` on the loop once the
        commit is over; raises OutboxError at once when stopped."""
        if self._closed:
            raise OutboxError("the MQTT sink is stopped")
        before = self._outbox.dropped
        pending, self._unstored_clears = self._unstored_clears, {}  # first: they came first
        rows = [*_clear_messages(pending), *(m for messages in staged for m in messages)]
        self._outbox.commit_soon(rows, functools.partial(self._committed, pending, before, done))

    def _committed(
        self,
        pending: dict[str, set[str]],
        before: int,
        done: Stored,
        _seqs: object,
        error: BaseException | None,
    ) -> None:
        if error is not None:
            self._keep_unstored(pending)
        else:
            self._clears_stored(pending)
            self._stored(self._outbox.dropped - before)
        done(error)

    def _stored(self, dropped: int) -> None:
        if dropped and not self._overflow_logged:
            self._overflow_logged = True
            log.warning(
                "MQTT outbox full (outbox_max=%d): dropping the oldest messages while %s is "
                "unreachable; counted in stats 'dropped', logged once",
                self._outbox.max_rows,
                f"{self.settings.host}:{self.settings.port}",
            )
        if self._supervisor is not None:
            self._supervisor.deliver()

    def _store_failed(self, e: Exception) -> None:
        self._counters.errors += 1
        if not self._error_logged:
            self._error_logged = True
            log.error(
                "MQTT: cannot store a reading (%s); counted under 'errors', "
                "further failures are only counted",
                e,
            )

    def raw(self, frame: bytes, rssi_dbm: float | None) -> None:
        """Raw telegrams are not published over MQTT."""

    def attach_health(self, source: HealthSource) -> None:
        self._health_source = source

    def health_changed(self, reports: Sequence[HealthReport], removed: Sequence[str] = ()) -> None:
        changed = False
        for r in reports:
            changed |= self._health(r.id, health_payload(r))
        for meter_id in removed:
            changed |= self._health(meter_id, b"")  # an empty retained message clears it
        if changed and self._supervisor is not None:
            self._supervisor.wake()
        if removed:  # left the config (a reload): its discovery configs and reading too
            self.forget_meters(removed)

    def _health(self, meter_id: str, payload: bytes) -> bool:
        topic = self.topics.health(meter_id)
        return self._discovery.update(f"health/{meter_id}", ((topic, payload),))

    def stats(self) -> dict[str, int]:
        c = self._counters
        return {
            "queued": len(self._outbox),
            "dropped": self._outbox.dropped,
            "delivered": c.delivered,
            "rejected": c.rejected,
            "connects": c.connects,
            "connect_failures": c.connect_failures,
            "disconnects": c.disconnects,
            "puback_timeouts": c.puback_timeouts,
            "errors": c.errors,
            "write_failures": self._outbox.write_failures,
            "low_space": self._outbox.low_space,
            "connected": int(self._supervisor is not None and self._supervisor.connected),
        }

    async def stop(self, timeout: float) -> None:
        if self._closed:
            return
        task, sup = self._task, self._supervisor
        if task is not None and sup is not None:
            loop = asyncio.get_running_loop()
            goodbye = min(1.0, timeout * 0.2)
            sup.request_stop(loop.time() + timeout - goodbye, goodbye)
            await asyncio.wait({task}, timeout=timeout)  # neither raises nor cancels it
            await cancel_and_wait(task)  # if it has ended: no cancel, but what it raised
        self._closed = True
        if self._clear_timer is not None:
            self._clear_timer.cancel()
            self._clear_timer = None
        self._outbox.close()

    # ------------------------------------------------------------------ internals

    def _stats_payload(self) -> Mapping[str, Any]:
        if self._health_source is not None:  # every meter's health goes out with the stats
            try:
                self.health_changed(self._health_source())
            except Exception:
                log.exception("MQTT: health source failed")
        extra = dict(self._stats_provider()) if self._stats_provider is not None else {}
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        out: dict[str, Any] = {"timestamp": now, "mqtt": self.stats(), **extra}
        frames = extra.get("frames")
        if isinstance(frames, int):  # the radio's rate since the last stats message
            t = time.monotonic()
            since, before = self._frames_at or (t - float(extra.get("uptime_s") or 0), 0)
            if t > since:
                out.setdefault("frames_per_s", round(max(frames - before, 0) / (t - since), 3))
            self._frames_at = (t, frames)
        return out


def _clear_messages(clears: Mapping[str, Collection[str]]) -> list[Message]:
    """Empty retained messages for `clears` (owner -> topics), in a stable order."""
    return [(t, b"", True) for owner in sorted(clears) for t in sorted(clears[owner])]
