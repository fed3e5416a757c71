"""A stand-in for journald for the benchmarks: the daemon's journal lines are received and
counted, and never reach a journal.

The daemon runs in a mount namespace of its own (`enter()`, in its process before the exec)
where a directory of ours is /run/systemd/journal, the directory libsystemd sends to; so a
journald running on this machine is left alone. Needs root.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import threading
from pathlib import Path

JOURNAL_DIR = Path("/run/systemd/journal")  # where libsystemd sends: its "socket" in there
CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000


class JournalReceiver:
    """Stands in for journald: a socket in a directory of ours, which the daemon sees as
    /run/systemd/journal (`enter()`, run in the daemon's process before its exec); counts the
    datagrams."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(directory / "socket"))
        self.lines = 0
        self._libc = ctypes.CDLL(None, use_errno=True)
        JOURNAL_DIR.mkdir(parents=True, exist_ok=True)  # the mount point
        threading.Thread(target=self._run, daemon=True).start()

    def enter(self) -> None:
        """In the child: a mount namespace of its own, our directory over JOURNAL_DIR."""
        libc = self._libc
        if (
            libc.unshare(CLONE_NEWNS) != 0
            or libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0
            or libc.mount(bytes(self.directory), bytes(JOURNAL_DIR), None, MS_BIND, None) != 0
        ):
            err = ctypes.get_errno()
            raise OSError(err, f"--journal: mount namespace: {os.strerror(err)}")

    def _run(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self._sock.recv(65536)
                self.lines += 1

    def close(self) -> None:
        self._sock.close()
