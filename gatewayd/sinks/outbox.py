"""The on-disk outbox: messages wait here, in order, until the broker has acknowledged them.

One sqlite database in WAL mode with `synchronous=FULL`: a commit returns only once the WAL is
fsynced, so a committed row survives a crash, a SIGKILL and a power cut. `await commit()` runs
the transaction in one worker thread (the event loop never waits for the disk); the caller
batches what arrived together, so one fsync covers many readings (group commit).

Rows are read back oldest first (a second, read-only connection on the loop thread sees only
committed rows; the rows this process committed and has not handed out yet are also kept in
memory, so reading what was just stored costs no query) and forgotten once their PUBACK
arrives: a forgotten row is never handed out again, and its DELETE rides along with the next
commit (or runs on its own within a second).
A failed DELETE (disk full) is retried later; it never costs a delivery.

Disk use is bounded: at most `max_rows` rows (past that the oldest are dropped and counted;
clears, i.e. empty retained messages, are never dropped and come on top of the bound),
a WAL checkpointed when it passes `wal_max_bytes` and every `checkpoint_every_s`, and kept at
that size rather than truncated (rewriting allocated blocks needs no new space and no
file-system metadata writes). The free space of the state dir is checked every few seconds:
below `low_space_bytes` one WARNING, counted in `low_space`, and one INFO when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gatewayd.errors import SinkError
from gatewayd.sinks.writer import Writer, settle

log = logging.getLogger("gatewayd.sinks.outbox")

WAL_MAX_BYTES = 256 << 10
CHECKPOINT_EVERY_S = 60.0
LOW_SPACE_BYTES = 16 << 20
SPACE_CHECK_S = 5.0
DELETE_DELAY_S = 5.0  # acknowledged rows not deleted by a commit by then get their own
DELETE_RETRY_S = 5.0  # after a failed DELETE (disk full)
PAGE_SIZE = 4096  # for new files
TAIL_MAX = 1024  # committed rows not handed out yet, kept in memory for after()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL,
    created REAL NOT NULL
)
"""
_INSERT = "INSERT INTO outbox (seq, topic, payload, retain, created) VALUES (?, ?, ?, ?, ?)"
# A clear (an empty retained message: a removed meter's reading, a renamed gateway's topics) is
# never dropped: losing it would leave that retained message on the broker for good, while a
# dropped reading is only superseded by a later one.
_DROP_OLDEST = (
    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox "
    "WHERE NOT (retain AND length(payload) = 0) ORDER BY seq LIMIT ?)"
)

Message = tuple[str, bytes, bool]  # topic, payload, retain
Committed = Callable[[list[int] | None, BaseException | None], None]  # (seqs, error)
_Written = tuple[list[int], int, list[int]]  # seqs, rows dropped, deleted
_Work = tuple[list[Message], float, list[int], Committed]  # rows, time put, deletes, answer


class OutboxError(SinkError):
    """The outbox file cannot be opened or written (disk full, permissions, corruption)."""


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int  # strictly increasing within a run, above every row already in the file
    topic: str
    payload: bytes
    retain: bool
    created: float  # time.time() when put


class Outbox:
    """A bounded, ordered, persistent queue of MQTT messages, owned by one event loop.

    The synchronous methods may be called from any thread (a lock guards the writing
    connection); `commit()`, `forget()` and `after()` belong to the loop.
    """

    def __init__(
        self,
        path: Path,
        max_rows: int,
        *,
        wal_max_bytes: int = WAL_MAX_BYTES,
        checkpoint_every_s: float = CHECKPOINT_EVERY_S,
        low_space_bytes: int = LOW_SPACE_BYTES,
    ) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        self.path = path
        self.max_rows = max_rows
        self.dropped = 0  # rows removed unsent because the outbox was full, since open
        self.commits = 0  # transactions committed (each one fsync of the WAL)
        self.write_failures = 0  # transactions that failed (disk full, I/O error)
        self.low_space = 0  # times the free space fell below low_space_bytes
        self.free_bytes = -1  # at the last check; -1: not checked yet
        self._low_space_bytes = low_space_bytes
        self._checkpoint_every_s = checkpoint_every_s
        self._lock = threading.Lock()
        self._forgotten: set[int] = set()  # acknowledged; DELETE not committed yet
        self._deleting: set[int] = set()  # in a transaction right now
        self._writer: Writer | None = None  # the thread that commits, made on first use
        self._delete_timer: asyncio.TimerHandle | None = None
        self._delete_task: asyncio.Task[None] | None = None
        self._failing = False
        self._tail: deque[Entry] = deque()  # the newest rows, contiguous, never handed out
        self._last_checkpoint = self._last_space_check = time.monotonic()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect(path)
            self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # no effect on an existing file
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            (page,) = self._db.execute("PRAGMA page_size").fetchone()
            self._db.execute(f"PRAGMA wal_autocheckpoint={max(16, wal_max_bytes // page)}")
            self._db.execute(f"PRAGMA journal_size_limit={wal_max_bytes}")
            self._db.execute(_SCHEMA)
            (count, top) = self._db.execute("SELECT COUNT(*), MAX(seq) FROM outbox").fetchone()
            self._reader = self._connect(path)
            self._reader.execute("PRAGMA query_only=1")
        except (OSError, sqlite3.Error) as e:
            raise OutboxError(f"cannot open outbox {path}: {e}") from e
        self._count: int = count
        self._next_seq: int = (top or 0) + 1
        self._check_space(force=True)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout=5000")
        return db

    def __len__(self) -> int:
        """Rows waiting for their PUBACK (acknowledged ones whose DELETE is pending excluded)."""
        return self._count - len(self._forgotten)

    # ------------------------------------------------------------------ writing

    def put(self, topic: str, payload: bytes, *, retain: bool) -> int:
        """Append one message now (fsynced); return how many old rows were dropped for it."""
        return self.put_many([(topic, payload, retain)])

    def put_many(self, messages: Iterable[Message]) -> int:
        """Append messages in one fsynced transaction, in order; return rows dropped."""
        _seqs, dropped, _deleted = self._write(list(messages), [])
        return dropped

    async def commit(self, messages: Sequence[Message]) -> list[int]:
        """Store `messages` in one fsynced transaction in the worker thread, together with the
        DELETEs of forgotten rows; return their sequence numbers. Raises OutboxError."""
        fut: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self.commit_soon(messages, functools.partial(settle, fut))
        return await fut

    def commit_soon(self, messages: Sequence[Message], done: Committed) -> None:
        """What commit() does, answered by `done(seqs, None)` or `done(None, OutboxError)` on
        the loop once the transaction is over (nothing to await: one loop turn fewer)."""
        deletes = self._take_deletes()
        if self._writer is None:
            self._writer = Writer("gatewayd-outbox")
        rows, now = list(messages), time.time()
        job = functools.partial(self._write, rows, deletes, False, now)
        self._writer.submit(job, functools.partial(self._committed, (rows, now, deletes, done)))

    def _committed(self, work: _Work, result: _Written | None, error: BaseException | None) -> None:
        rows, now, deletes, done = work
        self._deleting.difference_update(deletes)
        if result is None:
            done(None, error)
            return
        seqs, dropped, deleted = result
        self._forgotten.difference_update(deleted)
        tail = self._tail
        if dropped or (tail and seqs and tail[-1].seq != seqs[0] - 1):
            tail.clear()  # rows dropped, or written by put_many() meanwhile: read them back
        if not dropped:
            tail.extend(Entry(q, t, p, r, now) for q, (t, p, r) in zip(seqs, rows, strict=True))
            while len(tail) > TAIL_MAX:
                tail.popleft()
        done(seqs, None)

    def delete(self, seqs: Iterable[int]) -> int:
        """Remove rows now (ones already gone are ignored); return rows removed."""
        keys = list(seqs)
        if not keys:
            return 0
        before = self._count
        self._tail.clear()
        self._write([], keys, strict=True)
        self._forgotten.difference_update(keys)
        return before - self._count

    def forget(self, seqs: Iterable[int]) -> None:
        """Acknowledged rows: never handed out again; deleted with the next commit or soon."""
        self._forgotten.update(seqs)
        if self._forgotten and self._delete_timer is None:
            loop = asyncio.get_running_loop()
            self._delete_timer = loop.call_later(DELETE_DELAY_S, self._delete_soon)

    def _delete_soon(self) -> None:
        self._delete_timer = None
        if self._delete_task is None or self._delete_task.done():
            self._delete_task = asyncio.get_running_loop().create_task(self._delete_now())

    async def _delete_now(self) -> None:
        if not self._forgotten - self._deleting:
            return
        with contextlib.suppress(OutboxError):  # logged once by _write; retried below
            await self.commit([])
        if self._forgotten - self._deleting and self._delete_timer is None:
            self._delete_timer = asyncio.get_running_loop().call_later(
                DELETE_RETRY_S, self._delete_soon
            )

    def _take_deletes(self) -> list[int]:
        deletes = [s for s in self._forgotten if s not in self._deleting]
        self._deleting.update(deletes)
        return deletes

    def _write(
        self,
        messages: list[Message],
        deletes: list[int],
        strict: bool = False,
        now: float | None = None,
    ) -> _Written:
        """One transaction: DELETEs, INSERTs, overflow drops. Returns (seqs, dropped, deleted).

        When it fails with DELETEs in it, the DELETEs are tried alone (they may fit where the
        new rows do not); then OutboxError is raised if there were messages (or `strict`)."""
        with self._lock:
            try:
                seqs, dropped = self._transaction(messages, deletes, now)
            except sqlite3.Error as e:
                self.write_failures += 1
                self._count = self._recount()
                deleted: list[int] = []
                if deletes and messages:
                    try:
                        self._transaction([], deletes)
                        deleted = deletes
                    except sqlite3.Error:
                        self._count = self._recount()
                if not self._failing:
                    self._failing = True
                    log.error(
                        "outbox %s: cannot write (%s); what is stored is still delivered, "
                        "writes are retried; counted as 'write_failures', logged once",
                        self.path,
                        e,
                    )
                self._check_space(force=True)
                if messages or strict:
                    raise OutboxError(f"cannot write outbox {self.path}: {e}") from e
                return [], 0, deleted
            self._maintain()
            return seqs, dropped, deletes

    def _transaction(
        self, messages: list[Message], deletes: list[int], now: float | None = None
    ) -> tuple[list[int], int]:
        db = self._db
        now = time.time() if now is None else now
        first = self._next_seq
        seqs = list(range(first, first + len(messages)))
        db.execute("BEGIN IMMEDIATE")
        try:
            removed = dropped = 0
            if deletes:
                before = db.total_changes
                db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in deletes])
                removed = db.total_changes - before
            if messages:
                db.executemany(
                    _INSERT,
                    [(s, t, p, int(r), now) for s, (t, p, r) in zip(seqs, messages, strict=False)],
                )
            excess = self._count - removed + len(messages) - self.max_rows
            if excess > 0:
                dropped = db.execute(_DROP_OLDEST, (excess,)).rowcount
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self.commits += 1
        self._next_seq = first + len(messages)
        self._count += len(messages) - removed - dropped
        self.dropped += dropped
        return seqs, dropped

    def _maintain(self) -> None:
        """Checkpoint by time; free-space check (writer thread, lock held)."""
        now = time.monotonic()
        if now - self._last_checkpoint >= self._checkpoint_every_s:
            self._last_checkpoint = now
            try:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as e:
                log.debug("outbox checkpoint failed: %s", e)
        if now - self._last_space_check >= SPACE_CHECK_S:
            self._check_space()
        if self._failing:
            self._failing = False
            log.info("outbox %s: writing again", self.path)

    def _check_space(self, *, force: bool = False) -> None:
        self._last_space_check = time.monotonic()
        try:
            st = os.statvfs(self.path.parent)
        except OSError:
            return
        was_low = 0 <= self.free_bytes < self._low_space_bytes
        self.free_bytes = st.f_bavail * st.f_frsize
        low = self.free_bytes < self._low_space_bytes
        if low and not was_low:
            self.low_space += 1
            log.warning(
                "state dir %s: only %.1f MiB free (below %.0f MiB); the outbox may soon not "
                "store new readings; counted as 'low_space', logged once until it recovers",
                self.path.parent,
                self.free_bytes / 2**20,
                self._low_space_bytes / 2**20,
            )
        elif was_low and not low:
            log.info("state dir %s: %.1f MiB free again", self.path.parent, self.free_bytes / 2**20)

    # ------------------------------------------------------------------ reading

    def after(self, seq: int, limit: int) -> list[Entry]:
        """Up to `limit` committed, unacknowledged rows above `seq`, oldest first."""
        skip = self._forgotten
        out: list[Entry] = []
        if seq >= self._next_seq - 1:
            return out  # nothing above it
        tail = self._tail
        while tail and tail[0].seq <= seq:
            tail.popleft()
        if tail and tail[0].seq == seq + 1 and tail[-1].seq == self._next_seq - 1:
            while tail and len(out) < limit:  # all of them in memory: handed out from there
                e = tail.popleft()
                if e.seq not in skip:
                    out.append(e)
            return out
        while len(out) < limit:
            want = limit - len(out)
            rows = self._reader.execute(
                "SELECT seq, topic, payload, retain, created FROM outbox "
                "WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, want),
            ).fetchall()
            out += [Entry(s, t, bytes(p), bool(r), c) for s, t, p, r, c in rows if s not in skip]
            if len(rows) < want:
                break
            seq = rows[-1][0]  # some were forgotten (acknowledged before a reconnect): more
        while out and tail and tail[0].seq <= out[-1].seq:
            tail.popleft()  # handed out: a later after() reads them back from the file
        return out

    def close(self) -> None:
        """Delete what is acknowledged (best effort) and close; safe to call twice."""
        if self._delete_timer is not None:
            self._delete_timer.cancel()
            self._delete_timer = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._forgotten:
            with contextlib.suppress(OutboxError, sqlite3.ProgrammingError):
                self._write([], list(self._forgotten))
            self._forgotten.clear()
        self._reader.close()
        self._db.close()

    def _recount(self) -> int:
        try:
            (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        except sqlite3.Error:
            return self._count
        return int(count)
