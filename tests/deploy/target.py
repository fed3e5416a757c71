"""A throwaway target root for deploy/install.sh, driven under fakeroot.

The installer runs for real (useradd/groupadd --prefix, install -o/-g, a venv built by pip,
`systemctl --root` enable) against a directory seeded with the few /etc files a Debian system
has. Run by a normal user, the installer runs under fakeroot, which lets it chown without
privileges and remembers ownership in a state file, so the tests see what the installer set
either way. The installer never leaves the root it is given (no apt, no live systemctl, no
udevadm with --root), so running it as real root is safe.

Dependencies of the package are not downloaded: the installer is given
GATEWAYD_PIP_ARGS="--no-deps --no-build-isolation --no-index" and PYTHONPATH pointing at the
test venv's site-packages, which supplies the build backend (setuptools) and the runtime
dependencies (cryptography, pyserial-asyncio-fast). The gatewayd package itself is built from
the checkout and imported from the new release's own site-packages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO

SEED = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/bash\n",
    "etc/group": "root:x:0:\ndialout:x:20:\n",
    "etc/shadow": "root:*:19000:0:99999:7:::\n",
    "etc/gshadow": "root:*::\ndialout:*::\n",
    "etc/hostname": "site-17\n",
}
SOURCE_PARTS = ("pyproject.toml", "README.md", "gatewayd", "systemd", "deploy", "docs")

_SNAPSHOT = r"""
import hashlib, json, os, stat, sys
root = sys.argv[1]
out = {}
for dirpath, dirnames, filenames in os.walk(root):
    for name in dirnames + filenames:
        p = os.path.join(dirpath, name)
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        if stat.S_ISLNK(st.st_mode):
            what = "-> " + os.readlink(p)
        elif stat.S_ISREG(st.st_mode):
            what = hashlib.sha256(open(p, "rb").read()).hexdigest()[:16]
        else:
            what = "dir"
        out[rel] = [oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid, what]
json.dump(out, sys.stdout)
"""


def base_python() -> str:
    """The interpreter behind the test venv (a venv is not built from inside another venv)."""
    return str(getattr(sys, "_base_executable", sys.executable))


def copy_source(dest: Path) -> Path:
    """A copy of the checkout's installable parts, for variants (upgrades, missing modules)."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in SOURCE_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / part)
    return dest


@dataclass
class Target:
    root: Path
    fakeroot_state: Path

    @classmethod
    def create(cls, base: Path) -> Target:
        root = base / "root"
        for rel, text in SEED.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        return cls(root, base / "fakeroot.state")

    def _fakeroot(self) -> list[str]:
        if os.geteuid() == 0:
            return []  # already root: fakeroot would only slow pip down (~40 %)
        fakeroot = shutil.which("fakeroot")
        assert fakeroot, "fakeroot is missing: bash dev.sh test installs it (TEST_APT_PACKAGES)"
        cmd = [fakeroot, "-s", str(self.fakeroot_state)]
        if self.fakeroot_state.exists():
            cmd += ["-i", str(self.fakeroot_state)]
        return [*cmd, "--"]

    def run(
        self, script: str, *args: str, src: Path = REPO, pip_args: str = ""
    ) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "PYTHONPATH": sysconfig.get_paths()["purelib"],
            "GATEWAYD_PIP_ARGS": f"--no-deps --no-build-isolation --no-index {pip_args}".strip(),
            "PIP_NO_INPUT": "1",
        }
        extra = ["--python", base_python(), "--src", str(src)] if script == "install.sh" else []
        cmd = [
            *self._fakeroot(),
            "bash",
            str(REPO / "deploy" / script),
            "--root",
            str(self.root),
            *extra,
            *args,
        ]
        return subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=300, check=False
        )

    def snapshot(self) -> dict[str, list[object]]:
        """Every path under the root: mode, uid, gid, and content hash or link target."""
        cmd = [*self._fakeroot(), sys.executable, "-c", _SNAPSHOT, str(self.root)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
        snap: dict[str, list[object]] = json.loads(done.stdout)
        return snap

    def path(self, rel: str) -> Path:
        return self.root / rel.lstrip("/")

    def ids(self, table: str, name: str) -> list[str]:
        for line in self.path(f"/etc/{table}").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == name:
                return fields
        raise AssertionError(f"{name} not in /etc/{table}")
