"""The sqlite outbox: order, bounds, persistence across reopen and across SIGKILL."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gatewayd.sinks.outbox import Outbox, OutboxError


def _fill(box: Outbox, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        box.put(f"t/{i % 3}", f"m{i}".encode(), retain=i % 2 == 0)


def test_rows_come_back_oldest_first(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3", 100)
    _fill(box, 10)
    rows = box.after(0, 100)
    assert [r.payload for r in rows] == [f"m{i}".encode() for i in range(10)]
    assert [r.topic for r in rows] == [f"t/{i % 3}" for i in range(10)]
    assert [r.retain for r in rows] == [i % 2 == 0 for i in range(10)]
    seqs = [r.seq for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == 10
    assert [r.payload for r in box.after(seqs[4], 3)] == [b"m5", b"m6", b"m7"]
    assert len(box) == 10


def test_delete_only_what_was_acknowledged(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3", 100)
    _fill(box, 5)
    seqs = [r.seq for r in box.after(0, 10)]
    assert box.delete([seqs[1], seqs[3], 999_999]) == 2
    assert [r.payload for r in box.after(0, 10)] == [b"m0", b"m2", b"m4"]
    assert len(box) == 3
    assert box.delete([]) == 0


def test_sequence_numbers_never_reused_after_emptying(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3", 100)
    _fill(box, 3)
    last = box.after(0, 10)[-1].seq
    box.delete(r.seq for r in box.after(0, 10))
    assert len(box) == 0
    box.put("t", b"new", retain=False)
    (row,) = box.after(0, 10)
    assert row.seq > last  # a sender's cursor at `last` still sees the new row
    assert box.after(last, 10) == [row]


def test_full_outbox_drops_oldest_and_counts(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3", 10)
    _fill(box, 25)
    assert len(box) == 10
    assert box.dropped == 15
    assert [r.payload for r in box.after(0, 100)] == [f"m{i}".encode() for i in range(15, 25)]
    assert box.put_many([("a", b"x", False), ("b", b"y", False)]) == 2
    assert box.dropped == 17
    assert [r.payload for r in box.after(0, 100)][-3:] == [b"m24", b"x", b"y"]


def test_an_overflow_never_drops_a_clear(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3", 4)
    box.put("meters/A", b"", retain=True)  # a removed meter's retained reading: the clear
    box.put("alarms/A", b"", retain=False)  # empty but not retained: no clear, droppable
    _fill(box, 10)
    assert box.dropped == 8  # 12 rows for 4: the oldest eight that are not clears
    rows = [(r.topic, r.payload, r.retain) for r in box.after(0, 100)]
    assert rows == [("meters/A", b"", True), ("t/1", b"m7", False), ("t/2", b"m8", True),
                    ("t/0", b"m9", False)]  # fmt: skip
    box.close()
    small = Outbox(tmp_path / "o.sqlite3", 2)  # reopened with a smaller bound
    small.put("t/x", b"y", retain=True)
    assert [r.payload for r in small.after(0, 100)] == [b"", b"y"]


def test_rows_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state" / "o.sqlite3"  # the state dir is created if missing
    box = Outbox(path, 100)
    _fill(box, 7)
    box.close()
    box = Outbox(path, 100)
    assert len(box) == 7
    assert [r.payload for r in box.after(0, 100)] == [f"m{i}".encode() for i in range(7)]
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_reopen_with_smaller_bound_trims_on_next_put(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    box = Outbox(path, 100)
    _fill(box, 20)
    box.close()
    box = Outbox(path, 5)
    box.put("t", b"last", retain=False)
    assert len(box) == 5
    assert box.dropped == 16
    assert [r.payload for r in box.after(0, 10)] == [b"m16", b"m17", b"m18", b"m19", b"last"]


_WRITER = """
import sys, time
from pathlib import Path
from gatewayd.sinks.outbox import Outbox
box = Outbox(Path(sys.argv[1]), 10_000)
for i in range(500):
    box.put("t", str(i).encode(), retain=True)
print("stored", flush=True)
time.sleep(60)
"""


def test_committed_rows_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "stored"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    box = Outbox(path, 10_000)
    assert [r.payload for r in box.after(0, 1000)] == [str(i).encode() for i in range(500)]


def test_unwritable_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OutboxError, match="cannot open outbox"):
        Outbox(blocker / "o.sqlite3", 10)


async def test_forgotten_rows_are_never_handed_out_and_deleted_with_the_next_commit(
    tmp_path: Path,
) -> None:
    box = Outbox(tmp_path / "o.sqlite3", 100)
    first = await box.commit([("t", b"a", False), ("t", b"b", False), ("t", b"c", False)])
    assert [r.payload for r in box.after(0, 10)] == [b"a", b"b", b"c"]
    box.forget(first[:2])
    assert [r.payload for r in box.after(0, 10)] == [b"c"]  # at once, before any DELETE
    assert len(box) == 1
    await box.commit([("t", b"d", False)])  # the DELETEs ride along
    db = sqlite3.connect(box.path)
    assert [p for (p,) in db.execute("SELECT payload FROM outbox ORDER BY seq")] == [b"c", b"d"]
    db.close()
    box.close()


def test_commits_are_fsynced_wal_transactions(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3", 100)
    assert box._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: fsync per commit
    assert box._db.execute("PRAGMA journal_size_limit").fetchone()[0] > 0  # bounded WAL
    box.close()


async def test_the_wal_stays_within_its_bound(tmp_path: Path) -> None:
    bound = 64 << 10
    box = Outbox(tmp_path / "o.sqlite3", 10_000, wal_max_bytes=bound)
    wal = tmp_path / "o.sqlite3-wal"
    biggest = 0
    for _ in range(150):  # a delivering gateway: each commit adds one row, deletes the last
        (seq,) = await box.commit([("t", b"x" * 900, True)])
        box.forget([seq])
        biggest = max(biggest, wal.stat().st_size)
    assert biggest <= bound + 3 * (4096 + 24)  # one transaction past the checkpoint threshold
    assert len(box) == 0
    box.close()
