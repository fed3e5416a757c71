"""journald's native protocol, sent so that a log call never waits for journald.

An entry is one datagram to /run/systemd/journal/socket: `KEY=value\\n` per field, or
`KEY\\n` + the value's length (64-bit little-endian) + the value + `\\n` when the value holds a
newline; an entry too big for a datagram goes as a sealed memfd passed with SCM_RIGHTS in an
empty one (systemd.io/JOURNAL_NATIVE_PROTOCOL).

The socket is non-blocking. While journald does not read (restarting, flushing to a slow
card, stuck), entries wait in a bounded queue that a thread of ours sends on as the socket
takes them again; an entry that finds the queue full is dropped and counted, and where the
drops were, the journal gets one line saying how many. With no journald listening (none yet,
or restarted without its socket), entries wait the same way. Closing waits at most `flush_s` for
the queue; what is left then is counted too and the count written to stderr.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import fcntl
import os
import select
import socket
import sys
import threading
import time
from collections.abc import Iterable

SOCKET = "/run/systemd/journal/socket"
QUEUE_LINES = 4096  # entries waiting for journald, at most (~40 s of readings at 100/s)
QUEUE_BYTES = 4 << 20
FLUSH_S = 1.0  # how long close() waits for journald to take what is queued
RECONNECT_S = 1.0  # after a failed connect, entries are counted as dropped this long
# journald takes a memfd only sealed: it cannot shrink, grow or change, nor be unsealed
_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL


_SENT, _WAIT, _LOST = object(), object(), object()  # what became of an entry sent
# the errors of a socket whose journald has gone (a new one may come at the same path)
_GONE = frozenset((errno.ECONNREFUSED, errno.ENOENT, errno.ENOTCONN, errno.EPIPE, errno.ECONNRESET))


def encode(fields: Iterable[tuple[str, str]]) -> bytes:
    """One native-protocol entry of (KEY, value) pairs, in their order."""
    out: list[bytes] = []
    plain: list[str] = []
    for key, value in fields:
        if "\n" in value:
            if plain:
                out.append("".join(plain).encode("utf-8", "backslashreplace"))
                plain.clear()
            data = value.encode("utf-8", "backslashreplace")
            out.append(b"%s\n%s%s\n" % (key.encode(), len(data).to_bytes(8, "little"), data))
        else:
            plain.append(f"{key}={value}\n")
    if plain:
        out.append("".join(plain).encode("utf-8", "backslashreplace"))
    return b"".join(out)


class _Dropped:
    """In the queue where entries were dropped: the journal gets a line with the count."""

    __slots__ = ("count",)

    def __init__(self, count: int) -> None:
        self.count = count


class JournalSender:
    """Sends native-protocol entries without ever blocking the caller (any thread)."""

    def __init__(
        self,
        path: str = SOCKET,
        *,
        identifier: str = "gatewayd",
        max_lines: int = QUEUE_LINES,
        max_bytes: int = QUEUE_BYTES,
        flush_s: float = FLUSH_S,
    ) -> None:
        self.path = path
        self.identifier = identifier
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.flush_s = flush_s
        self.dropped = 0  # entries the journal never got, in all
        self.sent = 0
        self._pending = 0  # dropped since the last count put in the queue
        self._queue: collections.deque[bytes | _Dropped] = collections.deque()
        self._queued_bytes = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False
        self._sock: socket.socket | None = None
        self._retry_at = 0.0

    # the caller's side

    def send(self, entry: bytes) -> None:
        """Send `entry` now, or queue it behind others, or drop and count it; never waits."""
        with self._lock:
            if not self._queue and not self._pending:
                done = self._try(entry)
                if done is not _WAIT:
                    if done is _LOST:
                        self._drop()
                    return
            self._enqueue(entry)

    def _enqueue(self, entry: bytes) -> None:
        if self._closed:
            self._drop()
            return
        room = 2 if self._pending else 1
        if (
            len(self._queue) + room > self.max_lines
            or self._queued_bytes + len(entry) > self.max_bytes
        ):
            self._drop()
            return
        if self._pending:
            self._queue.append(_Dropped(self._pending))
            self._pending = 0
        self._queue.append(entry)
        self._queued_bytes += len(entry)
        self._start_thread()
        self._wake.notify()

    def _drop(self) -> None:
        self.dropped += 1
        self._pending += 1
        if not self._closed:
            self._start_thread()
            self._wake.notify()

    def _start_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="gatewayd-journal", daemon=True)
            self._thread.start()

    # the socket

    def _connect(self) -> socket.socket | None:
        if self._sock is not None:
            return self._sock
        now = time.monotonic()
        if now < self._retry_at:
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        sock.setblocking(False)
        try:
            # connected, so that poll() says when journald's queue has room again
            sock.connect(self.path)
        except OSError:
            sock.close()
            self._retry_at = now + RECONNECT_S
            return None
        self._sock = sock
        return sock

    def _try(self, entry: bytes) -> object:
        """_SENT; _WAIT (journald's queue is full, or no journald now); _LOST (this entry
        cannot be sent). Called with the lock held."""
        for _attempt in range(2):
            sock = self._connect()
            if sock is None:
                return _WAIT
            try:
                try:
                    sock.send(entry)
                except OSError as e:
                    if e.errno not in (errno.EMSGSIZE, errno.ENOBUFS):
                        raise
                    self._send_memfd(sock, entry)
            except BlockingIOError:
                return _WAIT
            except OSError as e:
                if e.errno not in _GONE:
                    return _LOST
                self._sock = None  # journald went away: connect again, once now
                sock.close()
                continue
            self.sent += 1
            return _SENT
        return _WAIT

    @staticmethod
    def _send_memfd(sock: socket.socket, entry: bytes) -> None:
        fd = os.memfd_create("journal-entry", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.write(fd, entry)  # a memfd takes all of it in one write
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
            socket.send_fds(sock, [b""], [fd])
        finally:
            os.close(fd)

    def _dropped_entry(self, count: int) -> bytes:
        lines = "line" if count == 1 else "lines"
        return encode(
            (
                ("MESSAGE", f"journal: {count} log {lines} dropped: journald was not reading"),
                ("PRIORITY", "4"),
                ("SYSLOG_IDENTIFIER", self.identifier),
                ("LOGGER", __name__),
                ("CODE_FILE", __file__),
                ("CODE_LINE", str(sys._getframe().f_lineno)),
                ("CODE_FUNC", "_dropped_entry"),
                ("GATEWAYD_EVENT", "journal_dropped"),
            )
        )

    # the thread that sends what waits

    def _flush(self) -> bool:
        """Send what the socket takes now; True when nothing waits. Lock held."""
        queue = self._queue
        while True:
            if not queue and self._pending:
                queue.append(_Dropped(self._pending))
                self._pending = 0
            if not queue:
                self._wake.notify_all()  # close() may wait for this
                return True
            head = queue[0]
            entry = self._dropped_entry(head.count) if isinstance(head, _Dropped) else head
            done = self._try(entry)
            if done is _WAIT:
                return False
            queue.popleft()
            if not isinstance(head, _Dropped):
                self._queued_bytes -= len(head)
                if done is _LOST:
                    self._drop()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._pending and not self._closed:
                    self._wake.wait()
                if self._closed and not self._queue and not self._pending:
                    return
                if self._flush():
                    continue
                sock = self._sock
                if self._closed and sock is None:
                    return
            # wait for room without the lock: callers keep queueing meanwhile
            if sock is None:
                time.sleep(RECONNECT_S)
                continue
            with contextlib.suppress(OSError, ValueError):
                poller = select.poll()
                poller.register(sock.fileno(), select.POLLOUT)
                poller.poll(250)

    # closing

    def close(self) -> None:
        """Wait at most flush_s for journald to take what is queued; count the rest."""
        deadline = time.monotonic() + self.flush_s
        with self._lock:
            self._closed = True
            self._wake.notify_all()
            while self._queue or self._pending:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None or not self._thread.is_alive():
                    break
                self._wake.wait(min(left, 0.05))
            lost = sum(1 for e in self._queue if not isinstance(e, _Dropped))
            lost_before = sum(e.count for e in self._queue if isinstance(e, _Dropped))
            unreported = lost + lost_before + self._pending
            self.dropped += lost
            self._queue.clear()
            self._queued_bytes = 0
            self._pending = 0
            if unreported and self._try(self._dropped_entry(unreported)) is _SENT:
                unreported = 0
            sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        if unreported:
            with contextlib.suppress(OSError, ValueError):
                lines = "line" if unreported == 1 else "lines"
                print(
                    f"gatewayd: {unreported} log {lines} dropped: journald was not reading",
                    file=sys.stderr,
                    flush=True,
                )
