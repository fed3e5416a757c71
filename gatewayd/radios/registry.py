"""Radio kinds by name, imported on use, and `open_radio()` (a supervised radio)."""

from __future__ import annotations

import importlib
import inspect
from typing import Any, cast

from gatewayd.radios.base import ListenMode, RadioConfigError
from gatewayd.radios.modes import ALIASES, KINDS, RadioKind
from gatewayd.radios.supervisor import RadioSupervisor, SupervisedRadio

__all__ = ["ALIASES", "KINDS", "RadioKind", "canonical_kind", "make_radio", "open_radio"]


def canonical_kind(kind: str) -> str:
    name = ALIASES.get(kind.lower(), kind.lower())
    if name not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise RadioConfigError(f"unknown radio kind {kind!r} (known: {known})")
    return name


def parse_mode(mode: str | ListenMode) -> ListenMode:
    if isinstance(mode, ListenMode):
        return mode
    try:
        return ListenMode(mode.lower().replace(" ", ""))
    except ValueError:
        known = ", ".join(m.value for m in ListenMode)
        raise RadioConfigError(f"unknown link mode {mode!r} (known: {known})") from None


def parse_radio_spec(spec: str) -> tuple[str, str]:
    """ "KIND:DEVICE" -> (kind, device); the device may itself contain colons."""
    kind, sep, device = spec.partition(":")
    if not sep or not kind:
        raise RadioConfigError(f"radio must be KIND:DEVICE, got {spec!r}")
    return canonical_kind(kind), device


def make_radio(
    kind: str, device: str, mode: str | ListenMode = "c1", **options: Any
) -> SupervisedRadio:
    """A fresh, unopened radio. options go to the class (reply_timeout_s, rate, repeat)."""
    name = canonical_kind(kind)
    module_name, _, cls_name = KINDS[name].target.partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    accepted = inspect.signature(cls).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise RadioConfigError(f"radio kind {name} takes no option(s) {', '.join(unknown)}")
    if name not in ("rtlwmbus", "replay") and not device:
        what = "HOST:PORT to listen on" if name == "tcp" else "a tty path"
        raise RadioConfigError(f"radio kind {name} needs a device ({what})")
    try:
        return cast(SupervisedRadio, cls(device, parse_mode(mode), **options))
    except ValueError as exc:
        raise RadioConfigError(f"radio {name}: {exc}") from exc


def open_radio(
    kind: str,
    device: str,
    mode: str | ListenMode = "c1",
    *,
    silence_reset_s: float | None = 600.0,
    backoff_initial_s: float = 1.0,
    backoff_max_s: float = 60.0,
    fail_fast: bool = False,
    label: str = "",
    read_interval_s: float = 0.0,
    **options: Any,
) -> RadioSupervisor:
    """A supervised radio: `await open_radio(...).run(deliver)`, or `async for frame in
    open_radio(...).frames()`.

    Arguments are checked now (RadioConfigError); the port is opened when run() starts.
    silence_reset_s is ignored for kinds that may legitimately be quiet (replay, tcp). label:
    how logs and stats name it (default KIND:DEVICE). read_interval_s: the radio is read at
    most this often, a batch of telegrams a read (radios/pacing.py; serial modules and pipes).
    """
    name = canonical_kind(kind)
    make_radio(name, device, mode, **options)  # validate now, not at the first attempt
    return RadioSupervisor(
        lambda: make_radio(name, device, mode, **options),
        name=label or f"{name}:{device}",
        silence_reset_s=silence_reset_s if KINDS[name].silence_reset else None,
        backoff_initial_s=backoff_initial_s,
        backoff_max_s=backoff_max_s,
        fail_fast=fail_fast,
        read_interval_s=read_interval_s,
    )
