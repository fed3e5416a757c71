"""The daemon's composition root (`gatewayd run`). Only this module knows every part.

radio supervisor ─frames─▶ Pipeline (dedup, decode, driver, policy) ─readings─▶ sinks
systemd: READY=1 once the config is valid, the state dir writable, the sinks started (the
outbox open) and the listen socket bound; then the state is restored, the decode side built and
the radio opened (a missing radio is retried while MQTT, BLE and the journal work). STATUS= the
radio's state in words and counters, WATCHDOG=1 from the loop
SIGHUP (= systemctl reload): reload meters, keys, [publish], [dedup], [log] (radio and outbox
stay open)
SIGTERM/SIGINT: stop cleanly
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from gatewayd.config.load import ConfigError, load_config
from gatewayd.config.schema import Config
from gatewayd.daemon.healthwatch import HealthWatch
from gatewayd.daemon.listensock import FrameTap, start_listen_socket
from gatewayd.daemon.logs import fields, set_level, setup_logging
from gatewayd.daemon.notify import Notifier
from gatewayd.daemon.radiostatus import (
    failure_line,
    radio_counts,
    radio_state,
    radio_words,
    report_radio_state,
    status_text,
)
from gatewayd.daemon.reload import needs_restart, reloaded
from gatewayd.daemon.state import StateDirError, StateStore, is_corrupt_db, move_aside
from gatewayd.daemon.stats import Stats
from gatewayd.errors import SinkError
from gatewayd.sinks.base import Sink, StatsProvider
from gatewayd.tasks import cancel_and_wait

if TYPE_CHECKING:  # the decode side and the radios are imported after READY=1
    from gatewayd.daemon.pipeline import Listener, Pipeline
    from gatewayd.radios.group import RadioGroup

log = logging.getLogger("gatewayd.daemon.app")

DRAIN_S = 5.0  # bounded time for sinks to flush on SIGTERM
SAVE_EVERY_S = 30.0
STATUS_EVERY_S = 10.0


# ---------------------------------------------------------------- sinks (the one wiring place)


def build_sinks(config: Config, *, journal: bool, stats: StatsProvider) -> list[Sink]:
    """The configured sinks, each imported only when configured (start-up time on a Pi);
    journal: the sink that logs each reading ([log] readings, which a reload may switch)."""
    sinks: list[Sink] = []
    if config.stdout.enabled:
        from gatewayd.sinks.stdout import StdoutSink  # noqa: PLC0415

        sinks.append(StdoutSink())
    if journal:
        from gatewayd.sinks.journal import JournalSink  # noqa: PLC0415

        sinks.append(JournalSink(enabled=config.log.readings))
    if config.mqtt is not None:
        from gatewayd.sinks.mqtt import MqttSink  # noqa: PLC0415

        m = config.mqtt
        if m.password_in_clear:
            log.warning(
                "MQTT password sent without TLS to %s: anyone on the path can read it "
                "(set [mqtt] tls = true)",
                m.host,
                extra=fields("mqtt_cleartext_password"),
            )
        sinks.append(MqttSink(m, stats, meters=[meter.id for meter in config.meters]))
    if config.ble is not None:
        from gatewayd.sinks.ble import BleSink  # noqa: PLC0415

        sinks.append(BleSink(config.ble, stats))
    return sinks


# ---------------------------------------------------------------- the daemon


class Daemon:
    def __init__(
        self,
        config: Config,
        *,
        notifier: Notifier | None = None,
        extra_sinks: Sequence[Sink] = (),
        journal_sink: bool = True,
        listeners: Sequence[Listener] = (),
    ) -> None:
        self.config = config
        self.notifier = notifier or Notifier()
        self.stats = Stats()
        self.health = HealthWatch(config)
        self.store = StateStore(config.gateway.state_dir)
        self._extra_sinks = list(extra_sinks)
        self._journal_sink = journal_sink
        self._listeners = list(listeners)
        self.pipeline: Pipeline | None = None
        self.radio_name = ", ".join(r.label for r in config.receivers)
        self.ready = asyncio.Event()  # the daemon is up (READY=1)
        self.radio_up = asyncio.Event()  # the radio has been configured once
        self._stop = asyncio.Event()
        self._exit_code = 0
        self._supervisor: RadioGroup | None = None
        self._frame_tap: FrameTap | None = None

    # -- lifecycle

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self._install_signals(loop)
        try:
            self.store.ensure_dir()
        except StateDirError as exc:
            log.error("%s", exc, extra=fields("config_error"))
            return 2
        try:
            sinks = self._build_sinks(self._journal_sink)
        except (ImportError, ValueError, TypeError, SinkError) as exc:
            log.error("cannot set up the sinks: %s", exc, extra=fields("sink_setup_failed"))
            return 2
        listen = await start_listen_socket(self.config, self._attach_tap)  # `gatewayd listen`
        self.stats.attach_sinks(sinks)
        started: list[Sink] = []
        for sink in sinks:
            try:
                await sink.start()
                started.append(sink)
            except Exception as exc:
                log.error(
                    "sink %s failed to start: %s", sink.name, exc, extra=fields("sink_failed")
                )
        log.info(
            "gatewayd starting: gateway %s, radio %s (%s), %d meters, sinks: %s",
            self.config.gateway.id,
            self.radio_name,
            self.config.radio.mode.value,
            len(self.config.meters),
            ", ".join(s.name for s in started) or "none",
            extra=fields("starting"),
        )
        background = [
            asyncio.create_task(self.notifier.run_watchdog(), name="watchdog"),
            asyncio.create_task(self._every(STATUS_EVERY_S, self._status), name="status"),
            asyncio.create_task(self._every(SAVE_EVERY_S, self._save), name="save"),
        ]
        # Up means the daemon is up: the radio may be unplugged, or plugged in later. The radio
        # task restores the state and builds the decode side first, before it opens the radio
        # (nothing is decoded without them); it runs once READY=1 is sent.
        radio = asyncio.create_task(self._radio_loop(sinks, background), name="radio")
        stop = asyncio.create_task(self._stop.wait(), name="stop-wait")
        self.ready.set()
        self.notifier.ready(self._status_text())
        await asyncio.wait({radio, stop}, return_when=asyncio.FIRST_COMPLETED)
        # Stop reading first, then drain what is in flight to the sinks, then save.
        self.notifier.stopping(self.stats.status_line())
        log.info("gatewayd stopping", extra=fields("stopping"))
        stop.cancel()
        try:
            await cancel_and_wait(radio)
        except Exception as exc:  # a bug: still drain what was accepted, then exit 1
            log.error("%s", failure_line(exc), extra=fields("radio_failed"))
            log.debug("the radio loop's traceback", exc_info=exc)
            self._exit_code = self._exit_code or 1
        if listen is not None:
            await listen.close()
        if self.pipeline is not None:
            await self.pipeline.handoff.drain(DRAIN_S)  # accepted readings onto the disk first
        await self._drain(started)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        self._save()
        self._status()
        log.info("gatewayd stopped: %s", self.stats.status_line(), extra=fields("stopped"))
        self.notifier.close()
        return self._exit_code

    def stop(self) -> None:
        self._stop.set()

    def _build_sinks(self, journal: bool) -> list[Sink]:
        """The sinks; a damaged outbox file is moved aside (one warning) and a new one made."""
        try:
            sinks = build_sinks(self.config, journal=journal, stats=self.stats_snapshot)
        except SinkError as exc:  # the outbox's OutboxError (sinks.outbox loads with MQTT only)
            mqtt = self.config.mqtt
            if mqtt is None or not is_corrupt_db(exc) or not mqtt.outbox_path.exists():
                raise
            aside = move_aside(mqtt.outbox_path, suffixes=("-wal", "-shm"))
            log.warning(
                "MQTT outbox %s is damaged (%s); moved to %s (its undelivered readings stay "
                "there) and starting a new one",
                mqtt.outbox_path,
                exc.__cause__ or exc,
                aside.name,
                extra=fields("outbox_damaged"),
            )
            sinks = build_sinks(self.config, journal=journal, stats=self.stats_snapshot)
        return sinks + self._extra_sinks

    async def _drain(self, sinks: Sequence[Sink]) -> None:
        async def one(sink: Sink) -> None:
            try:
                async with asyncio.timeout(DRAIN_S + 1.0):
                    await sink.stop(DRAIN_S)
            except Exception as exc:
                log.warning("sink %s did not stop cleanly: %r", sink.name, exc)

        await asyncio.gather(*(one(s) for s in sinks))

    # -- the radio

    def _build_pipeline(self, sinks: Sequence[Sink]) -> Pipeline:
        """The decode side, from the state the last run saved (after READY=1, before the radio
        is opened: no frame is decoded without the learnt formats and the publish memory)."""
        from gatewayd.daemon.pipeline import Pipeline  # noqa: PLC0415
        from gatewayd.daemon.policy import PublishPolicy  # noqa: PLC0415

        restored = self.store.load()
        policy = PublishPolicy(self.config.publish.heartbeat_s)
        policy.restore(restored.policy)
        pipeline = Pipeline(
            self.config,
            stats=self.stats,
            sinks=sinks,
            formats=restored.formats,
            meter_state=restored.meter_state,
            policy=policy,
        )
        pipeline.listeners.extend(self._listeners)
        pipeline.frame_tap = self._frame_tap
        self.health.attach(sinks, pipeline, restored.intervals)
        return pipeline

    def _attach_tap(self, tap: FrameTap | None) -> None:
        """The listen socket's tap (a client connected; None: the last one left)."""
        self._frame_tap = tap
        if self.pipeline is not None:
            self.pipeline.frame_tap = tap

    async def _radio_loop(
        self, sinks: Sequence[Sink], background: list[asyncio.Task[None]]
    ) -> None:
        self.pipeline = self._build_pipeline(sinks)
        background.append(asyncio.create_task(self.health.run(), name="health"))
        from gatewayd.radios.base import RadioConfigError  # noqa: PLC0415
        from gatewayd.radios.group import RadioGroup  # noqa: PLC0415
        from gatewayd.radios.registry import open_radio  # noqa: PLC0415

        try:
            supervisor = RadioGroup(
                [
                    open_radio(
                        r.kind,
                        r.device,
                        r.mode,
                        silence_reset_s=r.silence_reset_s or None,
                        read_interval_s=r.read_interval_ms / 1000,
                        label=r.label,
                        **r.options(),
                    )
                    for r in self.config.receivers
                ]
            )
        except RadioConfigError as exc:
            log.error("%s", exc, extra=fields("radio_config_error", radio=self.radio_name))
            self._exit_code = 2
            return
        self._supervisor = supervisor
        watcher = asyncio.create_task(
            report_radio_state(supervisor, self.radio_name, self.radio_up, self._status)
        )
        assert self.pipeline is not None
        try:
            await supervisor.run(self.pipeline.handle)  # each frame in the read that framed it
            log.info(
                "radio %s: end of input",
                self.radio_name,
                extra=fields("radio_end", radio=self.radio_name),
            )
        except RadioConfigError as exc:
            log.error("%s", exc, extra=fields("radio_config_error", radio=self.radio_name))
            self._exit_code = 2
        finally:
            watcher.cancel()

    # -- periodic work

    async def _every(self, seconds: float, fn: Callable[[], object]) -> None:
        while True:
            await asyncio.sleep(seconds)
            fn()

    def stats_snapshot(self) -> dict[str, Any]:
        """Counters for the sinks (MQTT stats topic, BLE Status): Stats plus the radio state."""
        self._radio_counters()
        group = self._supervisor
        snapshot = {
            **self.stats.snapshot(),
            "radio_state": radio_state(group),
            "radio_status": self.radio_status(),
            "meters": self.health.counts(),
        }
        if group is not None and len(group.supervisors) > 1:
            snapshot["radios"] = group.per_radio()
        return snapshot

    def radio_status(self) -> str:
        """What the radio is doing, in words an installer can act on."""
        return radio_words(self._supervisor, self.config.radio, self.radio_name)

    def _radio_counters(self) -> None:
        if self._supervisor is not None:
            self.stats.counts.update(radio_counts(self._supervisor))

    def _status_text(self) -> str:
        self._radio_counters()
        words, health, line = self.radio_status(), self.health.summary(), self.stats.status_line()
        return status_text(self._supervisor, words, health, line, self.stats.counts)

    def _status(self) -> None:
        self.notifier.status(self._status_text())

    def _save(self) -> None:
        p = self.pipeline
        if p is None:
            return
        dirty = p.dirty or p.formats.changed or self.health.intervals_changed
        intervals = self.health.intervals()
        if dirty and self.store.save(p.formats, p.meter_state, p.policy.snapshot(), intervals):
            p.dirty = self.health.intervals_changed = False

    # -- signals

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_signal_handler(signal.SIGTERM, self.stop)
        loop.add_signal_handler(signal.SIGINT, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        block_s = self.config.debug.sigusr2_block_s
        if block_s > 0:
            # Test hook ([debug] sigusr2_block_s): wedge the event loop to prove the watchdog.
            loop.add_signal_handler(signal.SIGUSR2, time.sleep, block_s)

    def reload(self) -> None:
        """SIGHUP: re-read the config; apply meters, keys, [publish], [dedup] and [log]."""
        self.notifier.reloading()
        try:
            config = load_config(self.config.path)
        except ConfigError as exc:
            log.error(
                "reload failed, keeping the running config: %s", exc, extra=fields("reload_failed")
            )
            self.notifier.ready(self._status_text())
            return
        need_restart = needs_restart(self.config, config)
        if need_restart:
            log.warning(
                "reload: %s changed and take effect only on a restart (systemctl restart "
                "gatewayd); applying meters, keys, [publish], [health], [dedup] and [log] now",
                ", ".join(need_restart),
                extra=fields("reload_partial"),
            )
        old, self.config = self.config, reloaded(self.config, config)
        if config.log.journal != old.log.journal:
            setup_logging(config.log.level, config.log.journal)  # journald <-> stderr
        set_level(config.log.level)
        if self.pipeline is not None:
            self.pipeline.reload(self.config)
            self._readings_logged(config.log.readings)
        self.health.reload(self.config)
        log.info("reloaded: %d meters", len(config.meters), extra=fields("reloaded"))
        self.notifier.ready(self._status_text())

    def _readings_logged(self, enabled: bool) -> None:
        """[log] readings on a reload: switch the sink that logs each reading."""
        from gatewayd.sinks.journal import JournalSink  # noqa: PLC0415

        for sink in self.pipeline.sinks if self.pipeline is not None else ():
            if isinstance(sink, JournalSink):
                sink.enabled = enabled
