"""Replacing a small file so that a crash or a power cut leaves either the old file or the new
one, complete, never a mix or an empty file: the state files, ha-announced.json, keys.toml."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_atomically(path: Path, text: str, *, owner: tuple[int, int] | None = None) -> None:
    """Replace `path` with `text` (UTF-8): a temp file beside it (created 0600, chowned to
    `owner` = (uid, gid) when given and we are root), fsynced, renamed over `path`, then the
    directory fsynced so the rename itself is on disk. On any error the temp file is removed,
    `path` is left as it was, and the error (OSError) is raised."""
    import tempfile  # noqa: PLC0415 (not cheap to import; the daemon writes only after READY=1)

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            if owner is not None and os.geteuid() == 0:
                os.fchown(fh.fileno(), *owner)
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
