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
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol, TypeVar

from gatewayd.errors import backoff_delay
from gatewayd.radios.base import Radio, RadioConfigError, RadioFrame, RadioLost

log = logging.getLogger(__name__)

T = TypeVar("T")


class SupervisedRadio(Radio, Protocol):
    counters: collections.Counter[str]
    info: dict[str, str]

    @property
    def name(self) -> str: ...


class RadioState(enum.Enum):
    CONNECTING = "connecting"
    RUNNING = "running"
    BACKOFF = "backoff"
    STOPPED = "stopped"


class RadioSupervisor:
    """`async for frame in supervisor.frames()`: frames from whichever radio is currently up.

    fail_fast: until the radio has run once, raise a failure instead of retrying (a
    commissioning tool wants to say "no such port" at once; later losses are retried).
    frames() ends only when the input ends (replay, stdin) or on a RadioConfigError, which it
    raises.
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
        rnd: Callable[[], float] = random.random,
    ) -> None:
        self.name = name
        self._rnd = rnd
        self.silence_reset_s = silence_reset_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.fail_fast = fail_fast
        self.state = RadioState.STOPPED
        self.reason = ""
        self.info: dict[str, str] = {}
        self._factory = factory
        self._done: collections.Counter[str] = collections.Counter()
        self._current: SupervisedRadio | None = None
        self._logged: tuple[RadioState, str] | None = None
        self.state_changed = asyncio.Event()  # set on every change (tests, status pages)

    @property
    def counters(self) -> collections.Counter[str]:
        """Our counters plus every radio attempt's framer and pump counters, summed."""
        total = collections.Counter(self._done)
        if self._current is not None:
            total.update(self._current.counters)
        return total

    async def frames(self) -> AsyncIterator[RadioFrame]:
        failures = 0  # in a row, since the radio last delivered a frame
        attempt = 0
        has_run = False
        while True:
            radio = self._factory()
            self._current = radio
            if attempt:
                self._done["reconnects"] += 1
            attempt += 1
            self._set(RadioState.CONNECTING, "opening")
            try:
                async with radio:
                    self.info = dict(radio.info)
                    has_run = True
                    self._set(RadioState.RUNNING, _describe(radio.info))
                    frames = radio.frames()
                    silence = SilenceWatch(lambda: self.silence_reset_s)
                    try:
                        while True:
                            try:
                                frame = await silence.next(frames)
                            except StopAsyncIteration:
                                self._set(RadioState.STOPPED, "end of input")
                                return
                            except TimeoutError:
                                self._done["silence_resets"] += 1
                                # a frame queued as the timer fired: delivered, then the reset
                                for frame in await _take_received(radio):
                                    self._done["frames"] += 1
                                    failures = 0
                                    yield frame
                                raise RadioLost(
                                    f"no frame for {self.silence_reset_s:g} s (silence reset)"
                                ) from None
                            self._done["frames"] += 1
                            failures = 0
                            yield frame
                    finally:
                        silence.close()
                        aclose = getattr(frames, "aclose", None)
                        if aclose is not None:
                            await aclose()
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


async def _take_received(radio: SupervisedRadio) -> list[RadioFrame]:
    """The frames `radio` has queued and frames() has not handed out yet (none for a radio
    that queues nothing: it reads as it is asked)."""
    take: Callable[[], Awaitable[list[RadioFrame]]] | None = getattr(radio, "take_received", None)
    return [] if take is None else await take()


def _describe(info: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in info.items()) or "configured"


class SilenceWatch:
    """`await watch.next(frames)`: the next frame, or TimeoutError once `seconds()` pass
    without one (None: no limit), as `asyncio.timeout` around each wait would do, but with one
    timer per silence period instead of one made, pushed on the loop's heap and cancelled per
    frame (~7 us a frame)."""

    def __init__(self, seconds: Callable[[], float | None]) -> None:
        self._seconds = seconds
        self._loop = asyncio.get_running_loop()
        self._since = 0.0  # when the wait now running began
        self._waiter: asyncio.Task[object] | None = None  # the task waiting for a frame
        self._cancelling = 0
        self._timer: asyncio.TimerHandle | None = None
        self._fired = False

    async def next(self, frames: AsyncIterator[T]) -> T:
        limit = self._seconds()
        if limit is None:
            return await anext(frames)
        task = asyncio.current_task()
        assert task is not None
        self._fired = False
        self._since = self._loop.time()
        if self._timer is None:
            self._timer = self._loop.call_at(self._since + limit, self._check)
        self._waiter, self._cancelling = task, task.cancelling()
        try:
            frame = await anext(frames)
        except asyncio.CancelledError:
            if self._fired and task.uncancel() <= self._cancelling:
                raise TimeoutError from None  # ours, not a cancel from outside
            raise
        finally:
            self._waiter = None
        if self._fired:  # our cancel was swallowed on the way: take it back
            task.uncancel()
        return frame

    def _check(self) -> None:
        self._timer = None
        limit, waiter = self._seconds(), self._waiter
        if waiter is None or limit is None:
            return  # not waiting now: the next wait arms the timer again
        due = self._since + limit
        if self._loop.time() < due:  # frames came meanwhile: look again when this wait is due
            self._timer = self._loop.call_at(due, self._check)
            return
        self._fired = True
        waiter.cancel()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
