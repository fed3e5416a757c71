"""One visible reconnect loop per radio: fresh radio object per attempt, capped backoff.

    CONNECTING ──configured──▶ RUNNING ──lost / silence──▶ BACKOFF ──delay──▶ CONNECTING
         └────────failed──────────────────────────────────────▲
    any ──end of input / config error──▶ STOPPED

A RadioLost (port vanished, closed, no answer) or `silence_reset_s` without a frame closes the
radio, waits (from 1 s, doubling, capped, with jitter: errors.backoff_delay), then opens and
configures a new one. One log line per state change, with the radio and the reason; repeated
failures for the same reason log once.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import logging
import random
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Protocol, TypeVar

from gatewayd.errors import backoff_delay
from gatewayd.radios.base import Radio, RadioConfigError, RadioFrame, RadioLost
from gatewayd.radios.delivery import FrameSink, frames_from

log = logging.getLogger(__name__)

T = TypeVar("T")


class SupervisedRadio(Radio, Protocol):
    counters: collections.Counter[str]
    info: dict[str, str]

    @property
    def name(self) -> str: ...

    def take_received(self) -> list[RadioFrame]:
        """The frames heard and not yet delivered, what the port holds now included (read
        without waiting): a silence reset is about to close the radio."""
        ...


class RadioState(enum.Enum):
    CONNECTING = "connecting"
    RUNNING = "running"
    BACKOFF = "backoff"
    STOPPED = "stopped"


class RadioSupervisor:
    """`await supervisor.run(deliver)`: frames from whichever radio is currently up, each handed
    to `deliver` in the callback that read it (delivery.py); or `async for frame in
    supervisor.frames()`.

    fail_fast: until the radio has run once, raise a failure instead of retrying (a
    commissioning tool wants to say "no such port" at once; later losses are retried).
    run() returns only when the input ends (replay, stdin), and raises a RadioConfigError.
    """

    def __init__(
        self,
        factory: Callable[[], SupervisedRadio],
        *,
        name: str,
        silence_reset_s: float | None = 600.0,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 60.0,
        fail_fast: bool = False,
        read_interval_s: float = 0.0,
        rnd: Callable[[], float] = random.random,
    ) -> None:
        self.name = name
        self.read_interval_s = read_interval_s  # given to each radio that paces its reads
        self._rnd = rnd
        self._silence_reset_s = silence_reset_s
        self._silence: SilenceWatch | None = None
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.fail_fast = fail_fast
        self.state = RadioState.STOPPED
        self.reason = ""
        self.info: dict[str, str] = {}
        self.delivered = 0  # frames handed to the consumer
        self._factory = factory
        self._done: collections.Counter[str] = collections.Counter()
        self._current: SupervisedRadio | None = None
        self._logged: tuple[RadioState, str] | None = None
        self.state_changed = asyncio.Event()  # set on every change (tests, status pages)

    @property
    def silence_reset_s(self) -> float | None:
        return self._silence_reset_s

    @silence_reset_s.setter
    def silence_reset_s(self, seconds: float | None) -> None:
        self._silence_reset_s = seconds
        if self._silence is not None:
            self._silence.limit_changed()

    @property
    def counters(self) -> collections.Counter[str]:
        """Our counters plus every radio attempt's framer and pump counters, summed."""
        total = collections.Counter(self._done)
        total["frames"] = self.delivered
        if self._current is not None:
            total.update(self._current.counters)
        return total

    def frames(self) -> AsyncGenerator[RadioFrame, None]:
        return frames_from(self.run, self._done)

    async def run(self, deliver: FrameSink) -> None:
        failures = 0  # in a row, since the radio last delivered a frame
        attempt = 0
        has_run = False
        while True:
            radio = self._factory()
            if self.read_interval_s and hasattr(radio, "read_interval_s"):
                radio.read_interval_s = self.read_interval_s  # radios/pacing.py
            self._current = radio
            if attempt:
                self._done["reconnects"] += 1
            attempt += 1
            self._set(RadioState.CONNECTING, "opening")
            delivered = self.delivered
            try:
                async with radio:
                    self.info = dict(radio.info)
                    has_run = True
                    self._set(RadioState.RUNNING, _describe(radio.info))
                    silence = self._silence = SilenceWatch(lambda: self._silence_reset_s)

                    def heard(frame: RadioFrame, silent: SilenceWatch = silence) -> None:
                        deliver(frame)
                        self.delivered += 1
                        silent.heard()

                    try:
                        await silence.run(radio.run(heard))
                    except TimeoutError:
                        self._done["silence_resets"] += 1
                        # heard as the timer fired (still in the port): delivered, then the reset
                        for frame in radio.take_received():
                            heard(frame)
                        raise RadioLost(
                            f"no frame for {self._silence_reset_s:g} s (silence reset)"
                        ) from None
                    finally:
                        silence.close()
                        self._silence = None
                    self._set(RadioState.STOPPED, "end of input")
                    return
            except RadioConfigError as exc:
                self._set(RadioState.STOPPED, str(exc), level=logging.ERROR)
                raise
            except RadioLost as exc:
                self._done["radio_lost"] += 1
                if self.fail_fast and not has_run:
                    # the caller reports it (one line), so only a debug line here
                    self._set(RadioState.STOPPED, str(exc), level=logging.DEBUG)
                    raise
                reason = str(exc)
            finally:
                self._done.update(radio.counters)
                self._current = None
            if self.delivered != delivered:
                failures = 0
            failures += 1
            delay = backoff_delay(failures, self.backoff_initial_s, self.backoff_max_s, self._rnd)
            self._set(RadioState.BACKOFF, reason, level=logging.WARNING, retry_s=delay)
            await asyncio.sleep(delay)

    def _set(
        self,
        state: RadioState,
        reason: str,
        *,
        level: int = logging.INFO,
        retry_s: float | None = None,
    ) -> None:
        self.state, self.reason = state, reason
        self.state_changed.set()
        self.state_changed = asyncio.Event()
        if state is RadioState.CONNECTING or self._logged == (state, reason):
            return  # connecting is the step between; a repeated failure is logged once
        self._logged = (state, reason)
        retry = "" if retry_s is None else f"; retrying (next in {retry_s:.2g} s, up to "
        retry += "" if retry_s is None else f"{self.backoff_max_s:g} s apart)"
        # the journal fields of gatewayd.daemon.logs.fields(), written out (radios sit below it)
        extra = {"GATEWAYD_EVENT": f"radio_{state.value}", "RADIO": self.name}
        log.log(level, "radio %s %s: %s%s", self.name, state.value, reason, retry, extra=extra)


def _describe(info: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in info.items()) or "configured"


class SilenceWatch:
    """`await watch.run(aw)`: what `aw` returns, or TimeoutError once `seconds()` pass without
    `heard()` (None: no limit). One timer per silence period, looked at when it is due, so a
    frame costs one clock read, not a timer made, pushed on the loop's heap and cancelled."""

    def __init__(self, seconds: Callable[[], float | None]) -> None:
        self._seconds = seconds
        self._loop = asyncio.get_running_loop()
        self._time = self._loop.time
        self._last = 0.0  # when a frame was last heard, or the wait began
        self._waiter: asyncio.Task[object] | None = None  # the task waiting in run()
        self._timer: asyncio.TimerHandle | None = None
        self._fired = False

    def heard(self) -> None:
        self._last = self._time()

    async def run(self, aw: Awaitable[T]) -> T:
        task = asyncio.current_task()
        assert task is not None
        self._fired = False
        self._last = self._time()
        self._waiter, cancelling = task, task.cancelling()
        self.limit_changed()
        try:
            result = await aw
        except asyncio.CancelledError:
            if self._fired and task.uncancel() <= cancelling:
                raise TimeoutError from None  # ours, not a cancel from outside
            raise
        finally:
            self._waiter = None
            self.close()
        if self._fired:  # our cancel was swallowed on the way: take it back
            task.uncancel()
        return result

    def limit_changed(self) -> None:
        """The limit may have changed: look again when the new one is due."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._arm()

    def _arm(self) -> None:
        limit = self._seconds()
        if self._waiter is not None and limit is not None and not self._fired:
            self._timer = self._loop.call_at(self._last + limit, self._check)

    def _check(self) -> None:
        self._timer = None
        limit, waiter = self._seconds(), self._waiter
        if waiter is None or limit is None:
            return
        if self._time() < self._last + limit:  # heard meanwhile: look again when due
            self._arm()
            return
        self._fired = True
        waiter.cancel()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
