"""Replacing a small file so that a crash or a power cut leaves either the old file or the new
one, complete, never a mix or an empty file: the state files, ha-announced.json, keys.toml (and,
without the fsyncs, the parsed-config cache)."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

_CREATE = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC  # as mkstemp's


def write_atomically(
    path: Path,
    data: str | bytes,
    *,
    owner: tuple[int, int] | None = None,
    sync: bool = True,
) -> None:
    """Replace `path` with `data` (text as UTF-8): a temp file beside it (created 0600,
    chowned to `owner` = (uid, gid) when given and we are root), fsynced, renamed over `path`,
    then the directory fsynced so the rename itself is on disk. sync=False skips both fsyncs
    (a cache, which a power cut may lose but never leaves half-written under its name). On any
    error the temp file is removed, `path` is left as it was, and the error (OSError) is
    raised."""
    fd, tmp = _temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            if owner is not None and os.geteuid() == 0:
                os.fchown(fh.fileno(), *owner)
            fh.write(data.encode() if isinstance(data, str) else data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if not sync:
        return
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _temp_beside(path: Path) -> tuple[int, str]:
    """A new file `.<name>.<random>` in `path`'s directory, made 0600 and exclusively, as
    tempfile.mkstemp makes it. (tempfile is not imported: with shutil, zlib, bz2 and lzma it
    cost ~2 ms of CPU at start, where the MQTT sink writes ha-announced.json before READY=1.)"""
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{os.urandom(6).hex()}")
        try:
            return os.open(tmp, _CREATE, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary file name", str(path.parent))
