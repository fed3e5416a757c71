"""What a reload (SIGHUP, `systemctl reload gatewayd`) applies, and what needs a restart.

Applied: `[[meters]]` (and so the keys), `[publish]`, `[health]`, `[dedup]` and `[log]`
(every key of them). Not applied: the open radio, the sinks' connections and the state dir, i.e. the
sections in RESTART_SECTIONS and `[[radios]]`: a reload that finds one of them changed keeps
the running value and says so in one warning.
"""

from __future__ import annotations

import dataclasses

from gatewayd.config.schema import Config

RESTART_SECTIONS = ("gateway", "radio", "mqtt", "ble", "stdout", "debug")
RELOADED_SECTIONS = ("meters", "publish", "health", "dedup", "log")


def needs_restart(running: Config, loaded: Config) -> list[str]:
    """The changed sections a reload does not apply, as `[radio]`, `[[radios]]`, ..."""
    changed = [
        f"[{name}]" for name in RESTART_SECTIONS if getattr(loaded, name) != getattr(running, name)
    ]
    if loaded.receivers != running.receivers and "[radio]" not in changed:
        changed.append("[[radios]]")
    return changed


def reloaded(running: Config, loaded: Config) -> Config:
    """The running config with the sections a reload applies taken from `loaded`."""
    changes = {name: getattr(loaded, name) for name in RELOADED_SECTIONS}
    return dataclasses.replace(running, **changes)
