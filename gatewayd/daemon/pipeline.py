"""The per-telegram path, synchronous and I/O-free apart from handing readings to sinks:

    RadioFrame -> dedup -> (raw to sinks) -> who is it? -> decode -> meter driver -> policy -> sinks

Every failure is counted; what an installer must act on is logged once per meter (unconfigured
meter, no key, wrong key, unknown compact format), and malformed frames at most once a minute.
Per-telegram lines go to DEBUG.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gatewayd.config.schema import Config, MeterSettings
from gatewayd.config.sections import COMMIT_WINDOW_MS
from gatewayd.daemon.handoff import Handoff
from gatewayd.daemon.logs import fields, meter_label
from gatewayd.daemon.policy import Decision, PublishPolicy
from gatewayd.daemon.stats import Stats, error_counter
from gatewayd.meters.model import Reading
from gatewayd.meters.reading import MeterState, build_reading
from gatewayd.radios.base import RadioFrame
from gatewayd.sinks.base import Sink
from gatewayd.wmbus.compact import CompactFormats
from gatewayd.wmbus.decode import Decoder, FrameSummary, summarize
from gatewayd.wmbus.dedup import Dedup, dedup_key
from gatewayd.wmbus.errors import FormatUnknownError, NoKeyError, TelegramError, WrongKeyError
from gatewayd.wmbus.headers import Headers, LinkCache, walk_headers

log = logging.getLogger(__name__)

MAX_REMEMBERED = 10_000  # bound on the once-per-meter memories
RATE_LIMIT_S = 60.0


@dataclass(frozen=True, slots=True)
class Unconfigured:
    """A meter heard but not configured: what can be said without a key."""

    id: str
    manufacturer: str
    device_type: str
    version: int
    encrypted: bool
    rssi_dbm: float | None
    first_seen: float


Listener = Callable[[Reading, Decision, MeterSettings], None]
HeardHook = Callable[[str, RadioFrame], None]  # (configured meter id, frame): per-meter health


def _not_watched(_meter_id: str, _rf: RadioFrame) -> None:
    return None


class Pipeline:
    def __init__(
        self,
        config: Config,
        *,
        stats: Stats,
        sinks: Sequence[Sink] = (),
        formats: CompactFormats | None = None,
        meter_state: MeterState | None = None,
        policy: PublishPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.stats = stats
        self.sinks = list(sinks)
        window_ms = config.mqtt.commit_window_ms if config.mqtt is not None else COMMIT_WINDOW_MS
        self.handoff = Handoff(  # durable before any sink sees it
            self.sinks, count=stats.incr, window_s=window_ms / 1000
        )
        self.meter_state = meter_state if meter_state is not None else MeterState()
        self.policy = policy or PublishPolicy(config.publish.heartbeat_s)
        self.dedup = Dedup(config.dedup.window_s, max_entries=config.dedup.max_entries, clock=clock)
        self._keys = config.keys()
        self.decoder = Decoder(keys=self._keys.get, formats=formats)
        self._links = LinkCache()  # parsed DLL headers, for the walk before decoding
        self.unconfigured: dict[str, Unconfigured] = {}
        self.listeners: list[Listener] = []
        self.frame_tap: Callable[[RadioFrame], None] | None = None  # `gatewayd listen` clients
        self.on_heard: HeardHook = _not_watched  # any telegram of a configured meter
        self.dirty = False  # meter state or policy changed since the last save
        self._warned: set[tuple[str, str]] = set()  # (kind, meter id) logged once
        self._clock = clock
        self._last_bad_log = -RATE_LIMIT_S
        self._bad_suppressed = 0

    @property
    def formats(self) -> CompactFormats:
        return self.decoder.formats

    def reload(self, config: Config) -> None:
        """New meters, keys and settings (SIGHUP). What dedup, the policy and the meter state
        remember, and the learnt formats, are kept."""
        self.config = config
        self._keys = config.keys()
        self.decoder = Decoder(keys=self._keys.get, formats=self.decoder.formats)
        self.policy.heartbeat_s = config.publish.heartbeat_s
        self.dedup.window_s = config.dedup.window_s
        self.dedup.max_entries = config.dedup.max_entries  # a smaller bound trims on the next frame
        self._warned.clear()  # a fixed key deserves a fresh warning if it is still wrong
        for m in config.meters:
            self.unconfigured.pop(m.id, None)

    def handle(self, rf: RadioFrame) -> Reading | None:
        """One frame through the whole path. Returns the reading when one was built."""
        counts = self.stats.counts  # every counter is there from the start (Stats)
        counts["frames"] += 1
        if self.frame_tap is not None:  # every frame heard, copies too, before anything else
            _guard(self.frame_tap, rf)
        frame = rf.frame
        heads: Headers | TelegramError
        try:  # the one walk of the headers, without a key: the duplicate check, the identity,
            # and the decoder's start
            heads = walk_headers(frame, open_ell_payload=False, lenient=True, links=self._links)
        except TelegramError as exc:
            heads = exc
        key = dedup_key(frame, heads if isinstance(heads, Headers) else None)
        if self.dedup.is_duplicate(frame, key):
            counts["duplicates"] += 1
            if log.isEnabledFor(logging.DEBUG):
                log.debug("duplicate telegram %s", frame.hex(), extra=fields("duplicate"))
            return None
        for sink in self.sinks:
            _guard(sink.raw, frame, rf.rssi_dbm)
        if isinstance(heads, TelegramError):
            self._bad(heads, frame)
            return None
        meter_id = heads.address.id
        meter = self.config.meter(meter_id)
        if meter is None and (radio := radio_id(heads)) is not None:
            meter = self.config.meter(radio)  # configured by its radio module's address
        if meter is None:
            counts["unconfigured"] += 1
            self._unconfigured(summarize(heads), rf)
            return None
        self.on_heard(meter.id, rf)
        try:
            telegram = self.decoder.decode_walked(heads)  # the walk above, not made again
        except TelegramError as exc:
            self._failed(exc, meter, summarize(heads), rf)
            return None
        try:
            reading = build_reading(
                telegram,
                driver=meter.driver,
                state=self.meter_state,
                rssi_dbm=rf.rssi_dbm,
                received_at=rf.received_at,
                name=meter.name,
                static=meter.fields,
                receivers=rf.heard_by,
            )
        except TelegramError as exc:  # a layout the driver cannot read: counted like the rest
            self._failed(exc, meter, summarize(heads), rf)
            return None
        except Exception as exc:  # a driver bug must not stop the radio
            counts["driver_errors"] += 1
            self._once(
                "driver",
                meter_id,
                "meter %s: driver %s failed: %r",
                meter_label(meter_id, meter.name),
                meter.driver,
                exc,
                extra=fields("driver", meter_id, name=meter.name),
            )
            return None
        counts["decoded"] += 1
        self.dirty = True
        decision = self.policy.decide(meter_id, reading)
        if decision.publish:
            counts["published"] += 1
            self.handoff.publish(reading, decision.alarm_changed)
            if decision.alarm_changed:
                if log.isEnabledFor(logging.INFO):
                    alarms = dict(reading.alarms or {})
                    _decoded(logging.INFO, "alarms now %s", alarms, reading, meter)
            elif log.isEnabledFor(logging.DEBUG):  # nothing formatted for a line not written
                _decoded(logging.DEBUG, "published (%s)", decision.reason, reading, meter)
        else:
            counts["suppressed"] += 1
            if log.isEnabledFor(logging.DEBUG):
                what = "unchanged, not published (%s)"
                _decoded(logging.DEBUG, what, decision.reason, reading, meter)
        for listener in self.listeners:
            _guard(listener, reading, decision, meter)
        return reading

    # ---- failures

    def _failed(
        self, exc: TelegramError, meter: MeterSettings, summary: FrameSummary, rf: RadioFrame
    ) -> None:
        self.stats.incr(error_counter(exc))
        meter_id = summary.address.id
        once = _ONCE_KINDS.get(type(exc))
        if once is None:
            once = next((k for cls, k in _ONCE_KINDS.items() if isinstance(exc, cls)), None)
        debug = log.isEnabledFor(logging.DEBUG)
        if once is not None and not debug and (once, meter_id) in self._warned:
            return  # said once already: only counted (nothing formatted for no line)
        if once is None and not debug and self._rate_limited() is None:
            return  # what _bad would do with it
        label = meter_label(meter_id, meter.name)
        extra = fields(
            exc.kind, meter_id, summary.address.manufacturer, rf.rssi_dbm, name=meter.name
        )
        if debug:
            log.debug(
                "meter %s: telegram not decoded (%s): %s", label, exc.kind, exc.reason, extra=extra
            )
        if isinstance(exc, WrongKeyError):
            self._once(
                "wrong_key",
                meter_id,
                "meter %s: the configured key does not decrypt its telegrams (%s); "
                "further failures are only counted",
                label,
                exc.reason,
                level=logging.WARNING,
                extra=extra,
            )
        elif isinstance(exc, NoKeyError):
            self._once(
                "no_key",
                meter_id,
                "meter %s sends encrypted telegrams but has no key configured",
                label,
                level=logging.WARNING,
                extra=extra,
            )
        elif isinstance(exc, FormatUnknownError):
            self._once(
                "format_unknown",
                meter_id,
                "meter %s: compact telegram of a format not learnt yet; "
                "waiting for a full telegram (%s)",
                label,
                exc.reason,
                extra=extra,
            )
        else:
            self._bad(exc, rf.frame, meter_id, meter.name)

    def _rate_limited(self) -> float | None:
        """None, counted as suppressed, when an undecodable telegram's warning may not be
        written now; else the time now."""
        now = self._clock()
        if now - self._last_bad_log < RATE_LIMIT_S:
            self._bad_suppressed += 1
            return None
        return now

    def _bad(
        self,
        exc: TelegramError,
        frame: bytes,
        meter_id: str | None = None,
        name: str | None = None,
    ) -> None:
        if meter_id is None:
            self.stats.incr(error_counter(exc))
        extra = None  # nothing formatted for no line
        if log.isEnabledFor(logging.DEBUG):
            extra = fields(exc.kind, meter_id, name=name)
            log.debug("undecodable telegram %s: %s", frame.hex(), exc, extra=extra)
        now = self._rate_limited()
        if now is None:
            return
        if extra is None:
            extra = fields(exc.kind, meter_id, name=name)
        more = (
            f" ({self._bad_suppressed} more since the last such line)"
            if self._bad_suppressed
            else ""
        )
        of = f" from meter {meter_label(meter_id, name)}" if meter_id is not None else ""
        why = exc if meter_id is None else exc.reason  # the exception's text names the meter
        log.warning("undecodable telegram%s: %s%s", of, why, more, extra=extra)
        self._last_bad_log = now
        self._bad_suppressed = 0

    def _unconfigured(self, s: FrameSummary, rf: RadioFrame) -> None:
        a = s.address
        if a.id in self.unconfigured or len(self.unconfigured) >= MAX_REMEMBERED:
            return
        self.unconfigured[a.id] = Unconfigured(
            a.id, a.manufacturer, a.media, a.version, s.encrypted, rf.rssi_dbm, rf.received_at
        )
        rssi = f", RSSI {rf.rssi_dbm:g} dBm" if rf.rssi_dbm is not None else ""
        log.info(
            "unconfigured meter %s: %s %s, version 0x%02X, %s%s",
            a.id,
            a.manufacturer,
            a.media,
            a.version,
            "encrypted (add it with its key)" if s.encrypted else "not encrypted",
            rssi,
            extra=fields("unconfigured_meter", a.id, a.manufacturer, rf.rssi_dbm),
        )

    def _once(
        self,
        kind: str,
        meter_id: str,
        msg: str,
        *args: object,
        level: int = logging.INFO,
        extra: dict[str, object] | None = None,
    ) -> None:
        if (kind, meter_id) in self._warned:
            return
        if len(self._warned) < MAX_REMEMBERED:
            self._warned.add((kind, meter_id))
        log.log(level, msg, *args, extra=extra or fields(kind, meter_id))


# The failures an installer is told about once per meter (kind, as _once remembers it)
_ONCE_KINDS: dict[type[TelegramError], str] = {
    WrongKeyError: "wrong_key",
    NoKeyError: "no_key",
    FormatUnknownError: "format_unknown",
}


def radio_id(h: Headers) -> str | None:
    """The link-layer id of a meter that sends through a radio module (a converter, a repeater
    with an address of its own): a long transport header names the meter itself. A meter's
    configuration is found by the meter's id first, then by this one, as wmbusmeters matches
    either address (its key too: the decoder falls back to this id's key)."""
    tpl = h.tpl
    if tpl is None or tpl.long_address is None or h.link.address.id == tpl.long_address.id:
        return None
    return h.link.address.id


def _decoded(level: int, what: str, arg: object, reading: Reading, meter: MeterSettings) -> None:
    """`meter <id> (<name>): <what % arg>`, with the meter's journal fields."""
    i = reading.identity
    extra = fields("decoded", i.id, i.manufacturer, reading.rssi_dbm, name=meter.name)
    log.log(level, f"meter %s: {what}", meter_label(i.id, meter.name), arg, extra=extra)


def _guard(fn: Callable[..., object], *args: object, **kwargs: object) -> None:
    """Sinks and listeners must not raise; if one does anyway, log it and carry on."""
    try:
        fn(*args, **kwargs)
    except Exception:
        log.exception("%r failed", fn)
