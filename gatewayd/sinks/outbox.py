"""The on-disk outbox: messages wait here, in order, until the broker has acknowledged them.

One sqlite database in WAL mode. `put()` is one small committed transaction on the event loop
(well under a millisecond; benchmarks/mqtt.py measures it), so a reading is on disk before
anything else happens to it. A WAL checkpoint now and then costs more (it syncs the file).
Rows are read back oldest first and deleted only after their PUBACK. The table is bounded:
past `max_rows` the oldest rows are dropped and counted.

Durability: `synchronous=NORMAL` survives a crash or SIGKILL of the process with every committed
row; a power cut may lose the last transactions since the WAL was last synced (sqlite's WAL
guarantee), never corrupt the file. `FULL` would fsync per reading, which an SD card cannot
sustain at radio rates.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gatewayd.errors import SinkError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL,
    created REAL NOT NULL
)
"""


class OutboxError(SinkError):
    """The outbox file cannot be opened or written (disk full, permissions, corruption)."""


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int  # strictly increasing, never reused (AUTOINCREMENT)
    topic: str
    payload: bytes
    retain: bool
    created: float  # time.time() when put


class Outbox:
    """A bounded, ordered, persistent queue of MQTT messages. Not thread-safe: one loop owns it."""

    def __init__(self, path: Path, max_rows: int) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        self.path = path
        self.max_rows = max_rows
        self.dropped = 0  # rows removed unsent because the outbox was full, since open
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        except (OSError, sqlite3.Error) as e:
            raise OutboxError(f"cannot open outbox {path}: {e}") from e
        self._count: int = count

    def __len__(self) -> int:
        return self._count

    def put(self, topic: str, payload: bytes, *, retain: bool) -> int:
        """Append one message; return how many old rows were dropped to make room (usually 0)."""
        return self.put_many([(topic, payload, retain)])

    def put_many(self, messages: Iterable[tuple[str, bytes, bool]]) -> int:
        """Append messages in one transaction, in the given order; return rows dropped."""
        now = time.time()
        rows = [(t, p, int(r), now) for t, p, r in messages]
        try:
            with self._transaction():
                self._db.executemany(
                    "INSERT INTO outbox (topic, payload, retain, created) VALUES (?, ?, ?, ?)",
                    rows,
                )
                self._count += len(rows)
                excess = self._count - self.max_rows
                if excess > 0:
                    cur = self._db.execute(
                        "DELETE FROM outbox WHERE seq IN "
                        "(SELECT seq FROM outbox ORDER BY seq LIMIT ?)",
                        (excess,),
                    )
                    self._count -= cur.rowcount
                    self.dropped += cur.rowcount
                    return cur.rowcount
        except sqlite3.Error as e:
            self._count = self._recount()
            raise OutboxError(f"cannot write outbox {self.path}: {e}") from e
        return 0

    def after(self, seq: int, limit: int) -> list[Entry]:
        """Up to `limit` rows with a sequence number above `seq`, oldest first."""
        cur = self._db.execute(
            "SELECT seq, topic, payload, retain, created FROM outbox "
            "WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        )
        return [Entry(s, t, bytes(p), bool(r), c) for s, t, p, r, c in cur]

    def delete(self, seqs: Iterable[int]) -> int:
        """Remove acknowledged rows (ones already dropped are ignored); return rows removed."""
        keys = [(s,) for s in seqs]
        if not keys:
            return 0
        try:
            with self._transaction():
                before = self._db.total_changes
                self._db.executemany("DELETE FROM outbox WHERE seq = ?", keys)
                removed = self._db.total_changes - before
        except sqlite3.Error as e:
            self._count = self._recount()
            raise OutboxError(f"cannot write outbox {self.path}: {e}") from e
        self._count -= removed
        return removed

    def oldest_age_s(self) -> float:
        """Seconds since the oldest waiting row was put; 0 when empty."""
        row = self._db.execute("SELECT MIN(created) FROM outbox").fetchone()
        return 0.0 if row[0] is None else max(0.0, time.time() - row[0])

    def close(self) -> None:
        self._db.close()

    def _recount(self) -> int:
        try:
            (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        except sqlite3.Error:
            return self._count
        return int(count)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN … COMMIT, ROLLBACK on error (the connection runs in autocommit mode otherwise)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
