"""write_atomically: the file holds the old text or the new, whole, whatever happens.

The order of the steps is what makes it crash-safe, so it is checked on the real calls (each
one still does its work): the text is written to a temp file in the same directory, that file
is fsynced, renamed over the target, and the directory is fsynced after the rename. A process
killed at the moment of the rename, and a rename that fails, leave the old file untouched."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gatewayd.fsutil import write_atomically


def test_the_steps_come_in_the_crash_safe_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "meters.json"
    target.write_text("old")
    steps: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        mode = os.fstat(fd).st_mode
        kind = "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"
        what = os.readlink(f"/proc/self/fd/{fd}")
        steps.append((f"fsync {kind}", what))
        real_fsync(fd)

    def replace(src: str, dst: str | Path) -> None:
        assert Path(src).read_text() == "new"  # the whole text, before the rename
        steps.append(("rename", f"{src} -> {dst}"))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_atomically(target, "new")
    assert [s for s, _ in steps] == ["fsync file", "rename", "fsync dir"]
    tmp = steps[0][1]
    assert Path(tmp).parent == tmp_path and tmp != str(target)  # beside it: same file system
    assert steps[1][1] == f"{tmp} -> {target}"
    assert steps[2][1] == str(tmp_path)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["meters.json"]  # no temp file left


def test_a_process_killed_at_the_rename_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "keys.toml"
    target.write_text("old")
    child = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from gatewayd import fsutil\n"
        "fsutil.os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)\n"
        "fsutil.write_atomically(Path(sys.argv[1]), 'new' * 1000)\n"
    )
    p = subprocess.run([sys.executable, "-c", child, str(target)], timeout=60, check=False)
    assert p.returncode == -signal.SIGKILL
    assert target.read_text() == "old"


def test_a_failed_rename_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "ha-announced.json"
    target.write_text("old")

    def full(src: str, dst: str | Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["ha-announced.json"]
