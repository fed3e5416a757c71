"""A real ext4 file system on a loop device (root), for power-cut and disk-use tests.

`loop_ext4(image, mountpoint, size_mib)` makes the image (mkfs.ext4 with the inode tables and
journal initialised at once, so no background writes), mounts it with `mount -o loop` and
always unmounts and frees its loop devices afterwards. `device_of(mountpoint)` names its
loop device, `sectors_written(dev)` reads /proc/diskstats.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

MKFS = shutil.which("mkfs.ext4") or "/usr/sbin/mkfs.ext4"


def can_loop_mount() -> bool:
    return os.geteuid() == 0 and Path("/dev/loop-control").exists() and Path(MKFS).exists()


def make_image(image: Path, size_mib: int) -> None:
    with image.open("wb") as f:
        f.truncate(size_mib << 20)
    subprocess.run(
        [MKFS, "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", str(image)],
        check=True,
        capture_output=True,
    )


@contextlib.contextmanager
def mounted(image: Path, mountpoint: Path) -> Iterator[Path]:
    mountpoint.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(mountpoint)], check=True)
    try:
        yield mountpoint
    finally:
        unmount(mountpoint, image)


def unmount(mountpoint: Path, image: Path) -> None:
    """Unmount (lazily if still busy after 5 s) and detach every loop device on `image`."""
    for _ in range(50):
        done = subprocess.run(["umount", str(mountpoint)], check=False, capture_output=True)
        if done.returncode == 0:
            break
        time.sleep(0.1)  # a process still closing files on it
    else:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False, capture_output=True)
    # mount -o loop sets autoclear; detach anyway in case it did not
    found = subprocess.run(
        ["losetup", "-j", str(image)], check=False, capture_output=True, text=True
    )
    for line in found.stdout.splitlines():
        subprocess.run(["losetup", "-d", line.split(":", 1)[0]], check=False, capture_output=True)


@contextlib.contextmanager
def loop_ext4(image: Path, mountpoint: Path, size_mib: int = 32) -> Iterator[Path]:
    make_image(image, size_mib)
    with mounted(image, mountpoint) as m:
        yield m


def device_of(mountpoint: Path) -> str | None:
    """/dev/loopN mounted at `mountpoint`, from /proc/self/mounts."""
    target = str(mountpoint.resolve())
    for line in Path("/proc/self/mounts").read_text().splitlines():
        dev, where, *_ = line.split()
        if where == target:
            return dev
    return None


def sectors_written(dev: str) -> int:
    """512-byte sectors written to `dev` since boot (/proc/diskstats field 10)."""
    name = Path(dev).name
    for line in Path("/proc/diskstats").read_text().splitlines():
        parts = line.split()
        if parts[2] == name:
            return int(parts[9])
    raise LookupError(f"{name} not in /proc/diskstats")
