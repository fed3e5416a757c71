"""The native-protocol sender against real AF_UNIX datagram sockets standing in for journald:
what it sends is journald's format (parsed by the test's own reader), a big entry comes as a
sealed memfd, and a journal that stops reading neither blocks the sender nor loses a line
without counting it and saying so."""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatewayd.daemon.journalsend import RECONNECT_S, JournalSender, encode
from tests.daemon.test_journald import Entry, parse_native


class Journal:
    """A datagram socket at `path` that reads only when asked to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.fds_sealed: list[int] = []

    def recv(self, timeout: float = 0.5) -> list[Entry]:
        """Every entry that arrives until none has for `timeout` s."""
        out: list[Entry] = []
        self.sock.settimeout(timeout)
        while True:
            try:
                data, fds, _flags, _ = socket.recv_fds(self.sock, 1 << 20, 1)
            except TimeoutError:
                return out
            for fd in fds:
                try:
                    self.fds_sealed.append(fcntl.fcntl(fd, fcntl.F_GET_SEALS))
                    data += os.pread(fd, 1 << 24, 0)
                finally:
                    os.close(fd)
            out.append(parse_native(data))

    def close(self) -> None:
        self.sock.close()
        self.path.unlink(missing_ok=True)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "socket")
    yield j
    j.close()


def line(i: int) -> bytes:
    return encode((("MESSAGE", f"line {i}"), ("PRIORITY", "6")))


def test_the_entry_is_journalds_native_format() -> None:
    data = encode(
        (("MESSAGE", "two\nlines"), ("PRIORITY", "6"), ("METER_NAME", "Küche"), ("X", ""))
    )
    # by hand, from systemd.io/JOURNAL_NATIVE_PROTOCOL: the binary-safe form for the newline
    assert data == (
        b"MESSAGE\n" + (9).to_bytes(8, "little") + b"two\nlines\n"
        b"PRIORITY=6\nMETER_NAME=K\xc3\xbcche\nX=\n"
    )
    assert parse_native(data) == {
        "MESSAGE": "two\nlines",
        "PRIORITY": "6",
        "METER_NAME": "Küche",
        "X": "",
    }


def test_entries_arrive_in_order_and_a_big_one_as_a_sealed_memfd(journal: Journal) -> None:
    sender = JournalSender(str(journal.path))
    big = "x" * 300_000 + "\nend"  # over the socket's default send buffer (212992)
    sender.send(line(0))
    sender.send(encode((("MESSAGE", big), ("PRIORITY", "3"))))
    sender.send(line(1))
    got = journal.recv()
    sender.close()
    assert [e["MESSAGE"] for e in got] == ["line 0", big, "line 1"]
    assert got[1]["PRIORITY"] == "3"
    seals = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL
    assert journal.fds_sealed == [seals]  # journald refuses a memfd that is not sealed
    assert (sender.sent, sender.dropped) == (3, 0)


def test_a_journal_that_stops_reading_costs_lines_counted_and_reported_once(
    journal: Journal,
) -> None:
    sender = JournalSender(str(journal.path), max_lines=100)
    t0 = time.process_time()
    for i in range(3000):
        sender.send(line(i))
    spent = time.process_time() - t0
    assert spent < 1.0  # none of the 3000 waited (blocking, the 11th would hang here)
    got = journal.recv()  # journald reads again: what the kernel and the queue kept, then
    msgs = [e["MESSAGE"] for e in got]
    kept = len(msgs) - 1
    # ... the oldest lines in order, and one line with the count of the rest
    assert msgs[:kept] == [f"line {i}" for i in range(kept)]
    assert kept >= 100  # the queue's 100 at least, besides what the kernel had taken
    assert msgs[kept] == f"journal: {3000 - kept} log lines dropped: journald was not reading"
    assert got[kept]["PRIORITY"] == "4"
    assert got[kept]["GATEWAYD_EVENT"] == "journal_dropped"
    assert got[kept]["SYSLOG_IDENTIFIER"] == "gatewayd"
    assert sender.dropped == 3000 - kept
    sender.send(line(3000))  # and the journal goes on
    assert [e["MESSAGE"] for e in journal.recv()] == ["line 3000"]
    sender.close()
    assert sender.dropped == 3000 - kept


def test_closing_waits_a_bounded_time_and_says_what_journald_never_got(
    journal: Journal, capfd: pytest.CaptureFixture[str]
) -> None:
    sender = JournalSender(str(journal.path), flush_s=0.5)
    for i in range(500):
        sender.send(line(i))
    t0 = time.monotonic()
    sender.close()
    assert time.monotonic() - t0 < 1.5
    got = journal.recv()
    # the kernel's queue was full, so the count could not reach the journal: stderr has it
    assert all(e["MESSAGE"].startswith("line ") for e in got)
    assert sender.dropped == 500 - len(got)
    err = capfd.readouterr().err
    assert err == f"gatewayd: {500 - len(got)} log lines dropped: journald was not reading\n"


def test_a_journal_that_reads_again_before_the_close_gets_everything(journal: Journal) -> None:
    sender = JournalSender(str(journal.path), flush_s=10)
    for i in range(300):
        sender.send(line(i))
    received: list[Entry] = []

    def journald() -> None:
        time.sleep(0.3)  # stalled, then it reads
        received.extend(journal.recv(timeout=1))

    reader = threading.Thread(target=journald)
    reader.start()
    t0 = time.monotonic()
    sender.close()  # waits while the queue goes out, not for the whole flush_s
    waited = time.monotonic() - t0
    reader.join()
    assert 0.2 < waited < 5
    assert [e["MESSAGE"] for e in received] == [f"line {i}" for i in range(300)]
    assert sender.dropped == 0


def test_no_journal_yet_then_one(tmp_path: Path) -> None:
    path = tmp_path / "socket"
    sender = JournalSender(str(path))
    for i in range(5):
        sender.send(line(i))  # nothing listens: the lines wait, no exception
    journal = Journal(path)  # journald starts
    try:
        got = journal.recv(timeout=RECONNECT_S + 1.5)
        sender.send(line(5))
        got += journal.recv()
        assert [e["MESSAGE"] for e in got] == [f"line {i}" for i in range(6)]
        assert sender.dropped == 0
    finally:
        sender.close()
        journal.close()


def test_journald_restarted_on_a_new_socket(tmp_path: Path) -> None:
    path = tmp_path / "socket"
    first = Journal(path)
    sender = JournalSender(str(path))
    sender.send(line(0))
    assert [e["MESSAGE"] for e in first.recv()] == ["line 0"]
    first.close()  # journald gone, and a new one bound at the same path
    second = Journal(path)
    try:
        sender.send(line(1))
        assert [e["MESSAGE"] for e in second.recv()] == ["line 1"]
        assert sender.dropped == 0
    finally:
        sender.close()
        second.close()
