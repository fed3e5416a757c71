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

A meter whose state topics are its default ones (`state_prefixes` + its id: the reading and
the health topic) is kept as just its id, in memory and in the file (version 2: the prefixes
once and the ids as a list), so a start with 10,000 configured meters builds no topic per
meter. Topics that differ (e.g. still to be cleared under an old gateway id) are kept whole;
ids under prefixes other than the current ones (a renamed gateway) are expanded at load.
The file also says under which `config_base` (what a meter's config topics depend on besides
its id) the configs on record were announced, so a start under the same one skips looking
for configs left under an old discovery prefix or node (`configs_moved`).
Files of version 1 (every meter's topics in full) load as well and are rewritten as version 2.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any

from gatewayd.fsutil import write_atomically

log = logging.getLogger("gatewayd.sinks.mqtt")

ANNOUNCED_FILE = "ha-announced.json"
VERSION = 2
VERSIONS = (1, 2)  # what loads: version 1 lacks "default_state" and "config_base"
GATEWAY = "gateway"  # the owner of the gateway device's configs

Configs = tuple[tuple[str, bytes], ...]


def _persistent(owner: str) -> bool:
    """Meter ids and the gateway are remembered; other owners (e.g. "health/<id>") are not."""
    return "/" not in owner


class Discovery:
    def __init__(
        self,
        path: Path | None = None,
        *,
        sweep_legacy: bool = False,
        state_prefixes: tuple[str, ...] = (),
    ) -> None:
        # An upgrade from a release that keyed meter devices on the gateway id: each meter's
        # configs under that identity are cleared when it is first announced (kept in the file)
        self.sweep_legacy = sweep_legacy
        self.version = 0  # bumped on every change
        self._by_meter: dict[str, tuple[int, Configs]] = {}
        self._clearing: dict[str, int] = {}  # topic -> version at which it was to be cleared
        self._path = path
        self._announced: dict[str, set[str]] = {}  # owner -> config topics (persisted)
        self._loaded: dict[str, list[str]] = {}  # the same, as read and not looked at since
        self._retained: dict[str, set[str]] = {}  # meter -> retained state topics (persisted)
        self._prefixes = state_prefixes  # a meter's default state topics: prefix + id
        self._defaults: set[str] = set()  # meters with just those (persisted as ids)
        self._config_base: str | None = None  # where the recorded configs are (persisted)
        self._save_failed = False
        self._dirty = True  # the record differs from the file (or may: not read yet)
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
        before = self._configs(meter) or set()
        if known is not None:
            before = before | {t for t, _ in known[1]}
        elif not before and self.sweep_legacy:
            before = set(legacy)
        for t in before - topics:
            self._clearing[t] = self.version
        for t in topics:
            if self._clearing.pop(t, None) is not None:
                self._dirty = True
        self._by_meter[meter] = (self.version, configs)
        if _persistent(meter) and self._announced.get(meter) != topics:
            self._announced[meter] = topics
            self._dirty = True
            self._save()
        return True

    def since(self, version: int) -> list[tuple[str, bytes]]:
        """Every (topic, payload) changed after `version` (0: all), oldest change first."""
        changed = sorted((v, c) for v, c in self._by_meter.values() if v > version)
        return [m for _v, configs in changed for m in configs]

    # ---- taking back

    def owners(self) -> set[str]:
        """Meters (and the gateway) with configs or state topics announced, now or before."""
        return (
            {o for o in self._announced if self._announced[o]}
            | {o for o in self._loaded if self._loaded[o]}
            | self._retained.keys()
            | self._defaults
        )

    def owners_but(self, kept: frozenset[str]) -> list[str]:
        """owners() not in `kept`, sorted: set operations, no scan in Python per owner."""
        gone = self._defaults - kept
        gone.update(self._retained.keys() - kept)
        gone.update(o for o in self._announced.keys() - kept if self._announced[o])
        gone.update(o for o in self._loaded.keys() - kept if self._loaded[o])
        return sorted(gone)

    def config_owners(self) -> list[str]:
        """Owners with config topics on record, sorted."""
        return sorted(
            [o for o, ts in self._announced.items() if ts]
            + [o for o, ts in self._loaded.items() if ts]
        )

    def _configs(self, owner: str) -> set[str] | None:
        """`owner`'s config topics on record (made a set when first needed, not at load)."""
        if (loaded := self._loaded.pop(owner, None)) is not None:
            self._announced[owner] = set(loaded)
        return self._announced.get(owner)

    def explicit_state_owners(self) -> list[str]:
        """Meters whose retained state topics are not (only) their default ones, sorted."""
        return sorted(self._retained)

    def forget(self, owner: str, *, save: bool = True) -> list[str]:
        """Clear every config of `owner`; returns its retained state topics (the caller
        clears those through the outbox, after the owner's readings already queued, and calls
        `state_stored` once they are stored: until then they stay on record). save=False:
        call save() later (one write for many owners)."""
        topics = self._configs(owner) or set()
        self._announced.pop(owner, None)
        self._dirty |= bool(topics)
        known = self._by_meter.pop(owner, None)
        if known is not None:
            topics |= {t for t, _ in known[1]}
        self._clear(topics)
        state = sorted(self._state(owner) or ())
        if save:
            self._save()
        return state

    def forget_all_configs(self) -> None:
        """Discovery turned off: clear every config announced (state topics stay)."""
        topics = {t for ts in self._announced.values() for t in ts}
        topics.update(chain.from_iterable(self._loaded.values()))
        topics |= {t for o, (_v, c) in self._by_meter.items() if _persistent(o) for t, _ in c}
        self._dirty |= any(self._announced.values()) or any(self._loaded.values())
        self._announced.clear()
        self._loaded.clear()
        for owner in [o for o in self._by_meter if _persistent(o)]:
            del self._by_meter[owner]
        self._clear(topics)
        if topics:  # else nothing changed: a fresh start writes the record once, later
            self._save()

    def configs_moved(self, base: str) -> bool:
        """Whether configs on record may have been announced under a `base` other than this
        one (then the caller runs keep_only for each owner); from now on the record says
        `base` (the caller announces only under it)."""
        if self._config_base == base:
            return False
        self._config_base = base
        self._dirty = True
        return True

    def keep_only(self, owner: str, wanted: Iterable[str], *, save: bool = True) -> None:
        """Clear configs of `owner` announced before that are not under `wanted` topic
        prefixes (its node or the discovery prefix changed). save=False: call save() later."""
        prefixes = tuple(wanted)
        stale = {t for t in self._configs(owner) or () if not t.startswith(prefixes)}
        if stale:
            self._announced[owner] -= stale
            self._clear(stale)
            if save:
                self._save()

    def note_state(self, meter: str, topics: set[str], *, save: bool = True) -> list[str]:
        """The retained state topics `meter` has now; returns those it had before and not
        now (e.g. under an old gateway id), to be cleared (and `state_stored` once they are
        stored). save=False: call save() later."""
        before = self._state(meter)
        if before == topics:
            return []
        stale = (before or set()) - topics
        self._set_state(meter, topics | stale)  # the stale ones until `state_stored`
        if save:
            self._save()
        return sorted(stale)

    def state_stored(self, owner: str, topics: Iterable[str], *, save: bool = True) -> bool:
        """The clears of `owner`'s retained state `topics` are in the outbox, which keeps them
        until the broker acknowledges them: off the record (the owner too, when it has none
        left). Until this is called a restart clears them again. True when the record
        changed; save=False: call save() later (one write for many owners)."""
        kept = self._state(owner)
        if kept is None or kept.isdisjoint(topics):
            return False
        kept = kept.difference(topics)
        if kept:
            self._set_state(owner, kept)
        else:
            self._retained.pop(owner, None)
            self._defaults.discard(owner)
            self._dirty = True
        if save:
            self._save()
        return True

    def has_state(self, meter: str) -> bool:
        return meter in self._defaults or meter in self._retained

    def note_default_state(self, meters: frozenset[str]) -> None:
        """`meters` without state topics on record get their default ones (configured, maybe
        never heard: the health topic is retained). Set operations only, no topic is built."""
        new = meters.difference(self._defaults)
        if new and self._retained:
            new = new.difference(self._retained)
        if new:
            self._defaults |= new
            self._dirty = True

    def _default_topics(self, meter: str) -> set[str]:
        return {p + meter for p in self._prefixes}

    def _state(self, meter: str) -> set[str] | None:
        if meter in self._defaults:
            return self._default_topics(meter)
        return self._retained.get(meter)

    def _set_state(self, meter: str, topics: set[str]) -> None:
        self._dirty = True
        if self._prefixes and topics == self._default_topics(meter):
            self._retained.pop(meter, None)
            self._defaults.add(meter)
        else:
            self._defaults.discard(meter)
            self._retained[meter] = topics

    def clears_since(self, version: int) -> list[str]:
        """Topics to clear that were added after `version` (0: all still unacknowledged)."""
        return sorted(t for t, v in self._clearing.items() if v > version)

    def cleared(self, topic: str) -> None:
        """The broker acknowledged the empty retained message on `topic`."""
        if self._clearing.pop(topic, None) is not None:
            self._dirty = True
            self._save()

    def _clear(self, topics: Iterable[str]) -> None:
        topics = set(topics)
        if not topics:
            return
        self.version += 1
        self._dirty = True
        for t in topics:
            self._clearing[t] = self.version

    # ---- the file

    def save(self) -> None:
        self._save()

    def _load(self, path: Path) -> None:
        try:
            doc: Any = json.loads(path.read_text())
            if not isinstance(doc, dict) or doc.get("version") not in VERSIONS:
                raise ValueError(f"expected version {VERSION}")
            if not isinstance(doc["configs"], dict):
                raise ValueError("configs: expected an object")
            self._loaded = dict(doc["configs"])  # sets when needed: most are not at start
            "".join(chain.from_iterable(self._loaded.values()))  # TypeError unless strings
            for o, ts in doc["state"].items():  # folded into the defaults when they are
                self._set_state(str(o), set(map(str, ts)))
            if doc["version"] >= 2:
                self._load_defaults(doc["default_state"])
            self.version += 1
            self._clearing = dict.fromkeys(map(str, doc["clearing"]), self.version)
            self.sweep_legacy = self.sweep_legacy or doc.get("sweep_legacy") is True
            base = doc.get("config_base")
            self._config_base = base if isinstance(base, str) else None
            # the same record as the file (version 1 is rewritten as 2)
            self._dirty = doc["version"] != VERSION or self.sweep_legacy != (
                doc.get("sweep_legacy") is True
            )
        except FileNotFoundError:
            return
        except Exception as exc:  # damaged: start afresh, say so once
            self._announced, self._retained, self._clearing = {}, {}, {}
            self._loaded = {}
            self._defaults = set()
            self._dirty = True
            log.warning(
                "%s is damaged (%s); what Home Assistant was told before this start is "
                "forgotten, so a meter removed earlier may stay as a device there",
                path,
                f"{type(exc).__name__}: {exc}"[:200],
            )

    def _load_defaults(self, entry: Any) -> None:
        prefixes = tuple(map(str, entry["prefixes"]))
        ids = set(map(str, entry["meters"]))
        if prefixes == self._prefixes:
            self._defaults |= ids - self._retained.keys()
            return
        for mid in ids:  # other prefixes (a renamed gateway): their topics in full
            self._retained.setdefault(mid, set()).update(p + mid for p in prefixes)

    def _config_lists(self) -> Iterator[tuple[str, list[str]]]:
        yield from ((o, ts) for o, ts in self._loaded.items() if ts)  # sorted when written
        yield from ((o, sorted(ts)) for o, ts in self._announced.items() if ts)

    def _text(self) -> str:
        doc: dict[str, Any] = {
            "version": VERSION,
            "configs": dict(sorted(self._config_lists())),
            "state": {o: sorted(ts) for o, ts in sorted(self._retained.items())},
            "default_state": {"prefixes": list(self._prefixes), "meters": sorted(self._defaults)},
            "clearing": sorted(self._clearing),
        }
        if self._config_base is not None:
            doc["config_base"] = self._config_base
        if self.sweep_legacy:
            doc["sweep_legacy"] = True
        return json.dumps(doc, separators=(",", ":"))

    def _save(self) -> None:
        """Write the record when it changed since it was read or last written (a start that
        changes nothing costs no write and no fsync). A failed write is tried again at the
        next save."""
        if self._path is None or not self._dirty:
            return
        try:
            write_atomically(self._path, self._text())
            self._dirty = False
            self._save_failed = False
        except OSError as exc:
            if not self._save_failed:
                self._save_failed = True
                log.error("could not save %s: %s", self._path, exc)
