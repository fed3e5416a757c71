"""The BLE sink: published readings and raw telegrams to the phone app through BlueZ."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from gatewayd import __version__
from gatewayd.config.sections import BleSettings
from gatewayd.sinks.base import HealthReport, HealthSource, Reading, StatsProvider
from gatewayd.sinks.ble import gatt
from gatewayd.sinks.ble.bluez import BleState, Registrar
from gatewayd.sinks.ble.latest import LatestReadings
from gatewayd.sinks.ble.objects import (
    Advertisement,
    Application,
    Characteristic,
    GattService,
    NotifyingCharacteristic,
)

log = logging.getLogger(__name__)


class BleSink:
    name = "ble"

    def __init__(
        self,
        settings: BleSettings,
        stats_provider: StatsProvider | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """A GATT server for the phone app (docs/ble.md).

        settings: adapter, security level, gateway id (advertised as `MS-<id>`), optional bus
            address (tests).
        stats_provider: called on each read of the Status characteristic; returns the daemon's
            counters as a mapping (e.g. `Stats.snapshot`). Keys used: `uptime_s` (else the
            time since this sink was built), `radio_state` ("up" | "down" | "reconnecting";
            absent = "unknown"), and the counters in `gatt.STATUS_COUNTERS` (frames, bad_crc,
            duplicates, no_key, wrong_key, format_unknown, decoded, published), `meters`
            (configured meters by health state) and `radio_status` (the radio's state in
            words). Missing keys are sent as "not available"; an exception is logged once and
            treated as {}.
        clock: monotonic seconds, for the uptime fallback.

        Nothing touches D-Bus until start(). Without BlueZ or the adapter the sink logs one
        line and idles; it registers as soon as they appear, and again after every restart.
        """
        self.settings = settings
        self._stats_provider = stats_provider or dict
        self._clock = clock
        self._started_at = clock()
        self.latest = LatestReadings()
        self._name = (
            gatt.fit_name(settings.name) if settings.name else gatt.local_name(settings.gateway_id)
        )
        self.registrar = Registrar(
            settings.adapter_path, self._make_app, settings.bus_address, settings.retry_s
        )
        self._task: asyncio.Task[None] | None = None
        self._raw_seq = 0
        self._stats_failed = False
        self._bad_reading_logged = False
        self.counts: dict[str, int] = {
            "readings": 0,
            "bad_readings": 0,
            "notifications": 0,
            "raw_notifications": 0,
            "notify_errors": 0,
        }

    # ---- Sink interface ----

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self.registrar.run(), name="ble-registrar"
            )

    def publish(self, reading: Reading, *, alarm_changed: bool = False) -> None:
        """Store the reading for reads and notify subscribers; returns at once, never raises."""
        try:
            record = self.latest.update(reading)
        except Exception as exc:  # never into the pipeline: count, log once
            self.counts["bad_readings"] += 1
            if not self._bad_reading_logged:
                self._bad_reading_logged = True
                log.warning("BLE: reading not representable, skipped (logged once): %s", exc)
            return
        self.counts["readings"] += 1
        if self._notify("reading", record):
            self.counts["notifications"] += 1

    def raw(self, frame: bytes, rssi_dbm: float | None) -> None:
        """Send a telegram as received to Raw telegrams subscribers, in 20-byte fragments."""
        app = self.registrar.app
        if app is None or not app.notifier("raw_telegrams").notifying:
            return
        try:
            fragments = gatt.raw_fragments(self._raw_seq, frame, rssi_dbm)
        except ValueError:
            self.counts["notify_errors"] += 1
            return
        self._raw_seq = (self._raw_seq + 1) & 0xFF
        for f in fragments:
            if not self._notify("raw_telegrams", f):
                return
        self.counts["raw_notifications"] += 1

    def attach_health(self, source: HealthSource) -> None:
        """Meters and Reading show each meter's health as it is when they are read."""
        self.latest.health_source = source

    def health_changed(self, reports: Sequence[HealthReport], removed: Sequence[str] = ()) -> None:
        """Nothing to push: BLE values are built when a phone reads them."""

    def stats(self) -> dict[str, int]:
        return {**self.counts, "registrations": self.registrar.registrations}

    async def stop(self, timeout: float) -> None:
        if self._task is not None:
            await self.registrar.stop(self._task, timeout)
            self._task = None

    # ---- state for callers and tests ----

    @property
    def state(self) -> BleState:
        return self.registrar.state

    @property
    def local_name(self) -> str:
        return self._name

    # ---- the GATT application ----

    def _notify(self, char: str, value: bytes) -> bool:
        app = self.registrar.app
        if app is None:
            return False
        try:
            return app.notifier(char).notify(value)
        except Exception as exc:  # a closing bus must not reach the pipeline
            self.counts["notify_errors"] += 1
            log.debug("BLE: notification failed: %s", exc)
            return False

    def _status(self) -> bytes:
        try:
            stats = dict(self._stats_provider())
        except Exception:
            if not self._stats_failed:
                self._stats_failed = True
                log.exception("BLE: stats provider failed (logged once)")
            stats = {}
        uptime = stats.get("uptime_s")
        if not isinstance(uptime, int | float):
            uptime = self._clock() - self._started_at
        value = gatt.status_from_stats(__version__, uptime, self.latest.known, stats)
        return gatt.encode_status(value)

    def _make_app(self, on_release: Callable[[], None]) -> Application:
        sec = self.settings.security
        latest = self.latest

        def reader(name: str, build: Callable[[str], bytes]) -> Callable[[str, int], bytes]:
            return lambda dev, off: latest.read(name, dev, off, lambda: build(dev))

        def select(dev: str, value: bytes) -> None:
            latest.select(dev, value)

        chars: dict[str, Characteristic] = {
            "meters": Characteristic(
                gatt.METERS,
                gatt.char_flags(gatt.METERS, sec),
                read=reader("m", latest.meters_value),
            ),
            "reading": NotifyingCharacteristic(
                gatt.READING,
                gatt.char_flags(gatt.READING, sec),
                read=reader("r", latest.reading_value),
            ),
            "select_meter": Characteristic(
                gatt.SELECT_METER, gatt.char_flags(gatt.SELECT_METER, sec), write=select
            ),
            "raw_telegrams": NotifyingCharacteristic(
                gatt.RAW_TELEGRAMS, gatt.char_flags(gatt.RAW_TELEGRAMS, sec)
            ),
            "status": Characteristic(
                gatt.STATUS,
                gatt.char_flags(gatt.STATUS, sec),
                read=reader("s", lambda _dev: self._status()),
            ),
        }
        return Application(
            service=GattService(gatt.SERVICE_UUID),
            characteristics=chars,
            advertisement=Advertisement(self._name, on_release),
        )
