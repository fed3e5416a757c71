"""What the MQTT sink has announced to Home Assistant, and what it must take back.

`Discovery` holds the discovery configs by owner (a meter id, "gateway", or another retained
message kept outside the outbox), in memory: they are sent on every connect and as soon as one
is new, never stored in the outbox (so never dropped with it). A topic that an owner no longer
announces, or whose owner is removed, is cleared with an empty retained message; a clear is kept
until the broker acknowledges it.

With a `path` (`<state_dir>/ha-announced.json`) it also remembers across restarts which config
topics each meter and the gateway announced, which retained state topics (the reading) each
meter has, and the clears not yet acknowledged: a meter removed while the daemon was down, a
changed gateway id or prefix, or discovery turned off is cleaned up at the next start.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gatewayd.fsutil import write_atomically

log = logging.getLogger("gatewayd.sinks.mqtt")

ANNOUNCED_FILE = "ha-announced.json"
VERSION = 1
GATEWAY = "gateway"  # the owner of the gateway device's configs

Configs = tuple[tuple[str, bytes], ...]


def _persistent(owner: str) -> bool:
    """Meter ids and the gateway are remembered; other owners (e.g. "health/<id>") are not."""
    return "/" not in owner


class Discovery:
    def __init__(self, path: Path | None = None, *, sweep_legacy: bool = False) -> None:
        # An upgrade from a release that keyed meter devices on the gateway id: each meter's
        # configs under that identity are cleared when it is first announced (kept in the file)
        self.sweep_legacy = sweep_legacy
        self.version = 0  # bumped on every change
        self._by_meter: dict[str, tuple[int, Configs]] = {}
        self._clearing: dict[str, int] = {}  # topic -> version at which it was to be cleared
        self._path = path
        self._announced: dict[str, set[str]] = {}  # owner -> config topics (persisted)
        self._retained: dict[str, set[str]] = {}  # meter -> retained state topics (persisted)
        self._save_failed = False
        self._written: str | None = None  # the file's text as last read or written
        if path is not None:
            self._load(path)

    # ---- announcing

    def update(self, meter: str, configs: Configs, legacy: Iterable[str] = ()) -> bool:
        """Remember an owner's configs; True when they changed. Topics it announced before
        and not now are cleared; so are `legacy` topics (where an older release may have put
        them) when upgrading and the owner has no configs on record (its first announcement)."""
        known = self._by_meter.get(meter)
        if known is not None and known[1] == configs:
            return False
        self.version += 1
        topics = {t for t, _ in configs}
        before = self._announced.get(meter, set())
        if known is not None:
            before = before | {t for t, _ in known[1]}
        elif not before and self.sweep_legacy:
            before = set(legacy)
        for t in before - topics:
            self._clearing[t] = self.version
        for t in topics:
            self._clearing.pop(t, None)
        self._by_meter[meter] = (self.version, configs)
        if _persistent(meter) and self._announced.get(meter) != topics:
            self._announced[meter] = topics
            self._save()
        return True

    def since(self, version: int) -> list[tuple[str, bytes]]:
        """Every (topic, payload) changed after `version` (0: all), oldest change first."""
        changed = sorted((v, c) for v, c in self._by_meter.values() if v > version)
        return [m for _v, configs in changed for m in configs]

    # ---- taking back

    def owners(self) -> set[str]:
        """Meters (and the gateway) with configs or state topics announced, now or before."""
        return {o for o in self._announced if self._announced[o]} | set(self._retained)

    def forget(self, owner: str, *, save: bool = True) -> list[str]:
        """Clear every config of `owner`; returns its retained state topics (the caller
        clears those through the outbox, after the owner's readings already queued, and calls
        `state_stored` once they are stored: until then they stay on record). save=False:
        call save() later (one write for many owners)."""
        topics = self._announced.pop(owner, set())
        known = self._by_meter.pop(owner, None)
        if known is not None:
            topics |= {t for t, _ in known[1]}
        self._clear(topics)
        state = sorted(self._retained.get(owner, set()))
        if save:
            self._save()
        return state

    def forget_all_configs(self) -> None:
        """Discovery turned off: clear every config announced (state topics stay)."""
        topics = {t for ts in self._announced.values() for t in ts}
        topics |= {t for o, (_v, c) in self._by_meter.items() if _persistent(o) for t, _ in c}
        self._announced.clear()
        for owner in [o for o in self._by_meter if _persistent(o)]:
            del self._by_meter[owner]
        self._clear(topics)
        self._save()

    def keep_only(self, owner: str, wanted: Iterable[str]) -> None:
        """Clear configs of `owner` announced before that are not under `wanted` topic
        prefixes (its node or the discovery prefix changed)."""
        prefixes = tuple(wanted)
        stale = {t for t in self._announced.get(owner, set()) if not t.startswith(prefixes)}
        if stale:
            self._announced[owner] -= stale
            self._clear(stale)
            self._save()

    def note_state(self, meter: str, topics: set[str], *, save: bool = True) -> list[str]:
        """The retained state topics `meter` has now; returns those it had before and not
        now (e.g. under an old gateway id), to be cleared (and `state_stored` once they are
        stored). save=False: call save() later."""
        before = self._retained.get(meter)
        if before == topics:
            return []
        stale = (before or set()) - topics
        self._retained[meter] = topics | stale  # the stale ones until `state_stored`
        if save:
            self._save()
        return sorted(stale)

    def state_stored(self, owner: str, topics: Iterable[str], *, save: bool = True) -> bool:
        """The clears of `owner`'s retained state `topics` are in the outbox, which keeps them
        until the broker acknowledges them: off the record (the owner too, when it has none
        left). Until this is called a restart clears them again. True when the record
        changed; save=False: call save() later (one write for many owners)."""
        kept = self._retained.get(owner)
        if kept is None or kept.isdisjoint(topics):
            return False
        kept.difference_update(topics)
        if not kept:
            del self._retained[owner]
        if save:
            self._save()
        return True

    def has_state(self, meter: str) -> bool:
        return meter in self._retained

    def clears_since(self, version: int) -> list[str]:
        """Topics to clear that were added after `version` (0: all still unacknowledged)."""
        return sorted(t for t, v in self._clearing.items() if v > version)

    def cleared(self, topic: str) -> None:
        """The broker acknowledged the empty retained message on `topic`."""
        if self._clearing.pop(topic, None) is not None:
            self._save()

    def _clear(self, topics: Iterable[str]) -> None:
        topics = set(topics)
        if not topics:
            return
        self.version += 1
        for t in topics:
            self._clearing[t] = self.version

    # ---- the file

    def save(self) -> None:
        self._save()

    def _load(self, path: Path) -> None:
        try:
            text = path.read_text()
            doc: Any = json.loads(text)
            if not isinstance(doc, dict) or doc.get("version") != VERSION:
                raise ValueError(f"expected version {VERSION}")
            self._announced = {str(o): set(map(str, ts)) for o, ts in doc["configs"].items()}
            self._retained = {str(o): set(map(str, ts)) for o, ts in doc["state"].items()}
            self.version += 1
            self._clearing = dict.fromkeys(map(str, doc["clearing"]), self.version)
            self.sweep_legacy = self.sweep_legacy or doc.get("sweep_legacy") is True
            self._written = text if text == self._text() else None
        except FileNotFoundError:
            return
        except Exception as exc:  # damaged: start afresh, say so once
            self._announced, self._retained, self._clearing = {}, {}, {}
            log.warning(
                "%s is damaged (%s); what Home Assistant was told before this start is "
                "forgotten, so a meter removed earlier may stay as a device there",
                path,
                f"{type(exc).__name__}: {exc}"[:200],
            )

    def _text(self) -> str:
        doc: dict[str, Any] = {
            "version": VERSION,
            "configs": {o: sorted(ts) for o, ts in sorted(self._announced.items()) if ts},
            "state": {o: sorted(ts) for o, ts in sorted(self._retained.items())},
            "clearing": sorted(self._clearing),
        }
        if self.sweep_legacy:
            doc["sweep_legacy"] = True
        return json.dumps(doc, separators=(",", ":"))

    def _save(self) -> None:
        """Write the record, unless the file already says exactly this (a start that changes
        nothing costs no write and no fsync)."""
        if self._path is None:
            return
        text = self._text()
        if text == self._written:
            return
        try:
            write_atomically(self._path, text)
            self._written = text
            self._save_failed = False
        except OSError as exc:
            if not self._save_failed:
                self._save_failed = True
                log.error("could not save %s: %s", self._path, exc)
