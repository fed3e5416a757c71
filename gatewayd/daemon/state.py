"""What the daemon keeps in its state dir across restarts, so compact frames decode and unchanged
readings stay suppressed straight after a restart:

    compact-formats.json   learnt compact-frame formats (wmbus.compact.CompactFormats)
    meters.json            each meter's last fields/alarms (MeterState), what was last
                           published when (the publish policy's memory), and each meter's
                           learnt interval between telegrams (per-meter health)

Files are written atomically (temp file, fsync, rename). A file that fails to parse for any
reason (bad JSON, wrong shape, nesting too deep for the parser) is moved aside to
`<name>.corrupt-<UTC time>` with one warning, and the daemon starts afresh rather than not at
all. A state dir that cannot be created or written is a configuration error (StateDirError).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gatewayd.daemon.logs import fields
from gatewayd.errors import ConfigurationError
from gatewayd.fsutil import write_atomically

if TYPE_CHECKING:
    from gatewayd.meters.reading import MeterState
    from gatewayd.wmbus.compact import CompactFormats

log = logging.getLogger(__name__)

FORMATS_FILE = "compact-formats.json"
METERS_FILE = "meters.json"
VERSION = 1


def move_aside(path: Path, suffixes: tuple[str, ...] = ()) -> Path:
    """Rename a damaged file (and its companions path+suffix) to <name>.corrupt-<UTC time>."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    path.replace(aside)
    for suffix in suffixes:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.replace(aside.with_name(aside.name + suffix))
    return aside


class StateDirError(ConfigurationError):
    """The state dir cannot be created or written (exit 2: a restart would not fix it)."""


def check_state_dir(state_dir: Path) -> None:
    """Create the state dir if needed and prove it writable; StateDirError naming why not."""
    probe = state_dir / f".write-test.{os.getpid()}"  # a name only this process uses
    try:
        state_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StateDirError(
            f"[gateway] state_dir: {state_dir} is not a writable directory ({exc.strerror}); "
            "it holds the outbox and the state (systemd: StateDirectory=gatewayd)"
        ) from None


class Restored(NamedTuple):
    formats: CompactFormats
    meter_state: MeterState
    policy: dict[str, Any]
    intervals: dict[str, float]  # meter id -> seconds


class StateStore:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.usable = True

    def ensure_dir(self) -> None:
        """Raise StateDirError when the state dir cannot be created or written."""
        check_state_dir(self.dir)

    def load(self) -> Restored:
        """What the last run saved. The daemon calls this after READY=1, before the radio is
        opened: the decode stack it imports is not needed to be up."""
        import json  # noqa: PLC0415

        from gatewayd.meters.reading import MeterState  # noqa: PLC0415
        from gatewayd.wmbus.compact import CompactFormats  # noqa: PLC0415

        formats = CompactFormats()
        text = self._read(FORMATS_FILE)
        if text is not None:
            try:
                formats = CompactFormats.loads(text)
            except Exception as exc:  # any parse failure, RecursionError included
                self._damaged(FORMATS_FILE, exc)
                formats = CompactFormats()
        formats.changed = False
        meter_state = MeterState()
        policy: dict[str, Any] = {}
        intervals: dict[str, float] = {}
        text = self._read(METERS_FILE)
        if text is not None:
            try:
                data = json.loads(text)
                if not isinstance(data, dict) or data.get("version") != VERSION:
                    raise ValueError(f"expected version {VERSION}")
                meter_state = MeterState.from_dict(data["meter_state"])
                policy = dict(data["policy"])
                intervals = {str(k): float(v) for k, v in dict(data.get("intervals", {})).items()}
            except Exception as exc:  # any parse failure, RecursionError included
                self._damaged(METERS_FILE, exc)
                meter_state, policy, intervals = MeterState(), {}, {}
        return Restored(formats, meter_state, policy, intervals)

    def save(
        self,
        formats: CompactFormats,
        meter_state: MeterState,
        policy: dict[str, Any],
        intervals: dict[str, float] | None = None,
    ) -> bool:
        """Write what changed. True when everything was written."""
        import json  # noqa: PLC0415 (after READY=1, as load())

        if not self.usable:
            return False
        ok = True
        if formats.changed:
            ok = self._write(FORMATS_FILE, formats.dumps())
            if ok:
                formats.changed = False
        doc = {"version": VERSION, "meter_state": meter_state.to_dict(), "policy": policy}
        if intervals:
            doc["intervals"] = intervals
        text = json.dumps(doc, separators=(",", ":"), sort_keys=True, default=str)
        return self._write(METERS_FILE, text) and ok

    def _read(self, name: str) -> str | None:
        try:
            return (self.dir / name).read_text()
        except FileNotFoundError:
            return None
        except UnicodeDecodeError as exc:
            self._damaged(name, exc)
            return None
        except OSError as exc:
            log.warning(
                "cannot read %s (%s); starting without it",
                self.dir / name,
                exc.strerror,
                extra=fields("state_unreadable"),
            )
            return None

    def _damaged(self, name: str, exc: BaseException) -> None:
        """One loud warning; the file is kept for inspection under another name."""
        path = self.dir / name
        try:
            kept = f"moved to {move_aside(path).name}"
        except OSError as move_exc:
            kept = f"could not move it aside: {move_exc.strerror}"
        reason = f"{type(exc).__name__}: {exc}"[:200]
        log.warning(
            "state file %s is damaged (%s); %s; starting afresh without it",
            path,
            reason,
            kept,
            extra=fields("state_damaged"),
        )

    def _write(self, name: str, text: str) -> bool:
        target = self.dir / name
        try:
            write_atomically(target, text)
        except OSError as exc:
            log.error("could not save %s: %s", target, exc, extra=fields("state_save_failed"))
            return False
        return True


def is_corrupt_db(exc: BaseException) -> bool:
    """sqlite said the file is not a database or is malformed (not: cannot open, disk full)."""
    import sqlite3  # noqa: PLC0415 (loaded already when an outbox failed; not before)

    cause = exc.__cause__
    return isinstance(cause, sqlite3.DatabaseError) and not isinstance(
        cause, sqlite3.OperationalError
    )
