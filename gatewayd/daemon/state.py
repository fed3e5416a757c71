"""What the daemon keeps in its state dir across restarts, so compact frames decode and unchanged
readings stay suppressed straight after a restart:

    compact-formats.json   learnt compact-frame formats (wmbus.compact.CompactFormats)
    meters.json            each meter's last fields/alarms (MeterState) and what was last
                           published when (the publish policy's memory)

Files are written atomically (temp file, fsync, rename). A damaged file is logged and ignored:
the daemon starts afresh rather than not at all.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatewayd.daemon.logs import fields
from gatewayd.meters.reading import MeterState
from gatewayd.wmbus.compact import CompactFormats

log = logging.getLogger(__name__)

FORMATS_FILE = "compact-formats.json"
METERS_FILE = "meters.json"
VERSION = 1


@dataclass(slots=True)
class Restored:
    formats: CompactFormats
    meter_state: MeterState
    policy: dict[str, Any]


class StateStore:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.usable = True

    def ensure_dir(self) -> bool:
        try:
            self.dir.mkdir(mode=0o750, parents=True, exist_ok=True)
        except OSError as exc:
            log.error(
                "state dir %s unusable (%s): nothing will persist across restarts",
                self.dir,
                exc.strerror,
                extra=fields("state_dir_unusable"),
            )
            self.usable = False
        return self.usable

    def load(self) -> Restored:
        formats = CompactFormats()
        text = self._read(FORMATS_FILE)
        if text is not None:
            try:
                formats = CompactFormats.loads(text)
            except (ValueError, KeyError, TypeError) as exc:
                self._damaged(FORMATS_FILE, exc)
        formats.changed = False
        meter_state = MeterState()
        policy: dict[str, Any] = {}
        text = self._read(METERS_FILE)
        if text is not None:
            try:
                data = json.loads(text)
                if not isinstance(data, dict) or data.get("version") != VERSION:
                    raise ValueError(f"expected version {VERSION}")
                meter_state = MeterState.from_dict(data["meter_state"])
                policy = dict(data["policy"])
            except (ValueError, KeyError, TypeError) as exc:
                self._damaged(METERS_FILE, exc)
                meter_state, policy = MeterState(), {}
        return Restored(formats, meter_state, policy)

    def save(
        self, formats: CompactFormats, meter_state: MeterState, policy: dict[str, Any]
    ) -> bool:
        """Write what changed. True when everything was written."""
        if not self.usable:
            return False
        ok = True
        if formats.changed:
            ok = self._write(FORMATS_FILE, formats.dumps())
            if ok:
                formats.changed = False
        doc = {"version": VERSION, "meter_state": meter_state.to_dict(), "policy": policy}
        text = json.dumps(doc, separators=(",", ":"), sort_keys=True, default=str)
        return self._write(METERS_FILE, text) and ok

    def _read(self, name: str) -> str | None:
        try:
            return (self.dir / name).read_text()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self._damaged(name, exc)
            return None

    def _damaged(self, name: str, exc: BaseException) -> None:
        log.warning(
            "ignoring %s (%s); starting without it",
            self.dir / name,
            exc,
            extra=fields("state_damaged"),
        )

    def _write(self, name: str, text: str) -> bool:
        target = self.dir / name
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=self.dir)
            try:
                with os.fdopen(fd, "w") as fh:
                    fh.write(text)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.error("could not save %s: %s", target, exc, extra=fields("state_save_failed"))
            return False
        return True
