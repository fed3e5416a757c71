"""Debian bookworm's own systemd as PID 1 in a systemd-nspawn container, for the system tests.

The root file system is a `debootstrap --variant=minbase` tree built from the apt mirror this
machine already uses, cached in CACHE_DIR under a name derived from its recipe (suite, mirror,
packages, the steps below), so a changed recipe builds a new one. Each boot runs on an overlay
(the cached tree read-only below, a throwaway upper dir), so the cache is never modified.

What it takes on a host whose PID 1 is not systemd and whose cgroups are v1 ("hybrid"):
- SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1: the container's systemd gets a cgroup v2 tree;
- --register=no --keep-unit: there is no host machined or system bus; the nspawn process is
  first moved into a cgroup of its own (named systemd hierarchy and the unified one);
- --capability=all --system-call-filter=bpf: without bpf() the container's systemd cannot
  attach device programs and DevicePolicy= would silently not be enforced;
- --console=read-only (passive can hang the boot); commands run inside with
  `nsenter -t <container PID 1> -a` (machinectl and systemd-run -M need a host systemd).
Python packages reach the container as a wheelhouse built on the host (pip download, cached
like the tree), installed inside with pip --no-index: nothing inside needs the network.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import REPO

CACHE_DIR = Path(os.environ.get("GATEWAYD_TEST_CACHE", "/var/cache/gatewayd-tests"))
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# udev is installed but cannot run in a container: udevadm exists and systemd-udevd does not
# answer, as on a chroot or image build (what install.sh must cope with).
PACKAGES = ("systemd", "systemd-sysv", "dbus", "udev", "python3", "python3-venv", "python3-systemd")
RECIPE_VERSION = "1"  # bump when the steps in _build_rootfs change
SOURCE_PARTS = ("pyproject.toml", "README.md", "gatewayd", "systemd", "deploy", "docs")
IN_CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def apt_mirror() -> str:
    """The Debian mirror of this machine's apt sources that serves bookworm main."""
    texts = []
    for p in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        with contextlib.suppress(OSError):
            texts.append((p.suffix, p.read_text()))
    for suffix, text in texts:
        if suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
                suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
                if uris and suites and SUITE in suites.group(1).split():
                    return uris.group(1)
        else:
            for line in text.splitlines():
                m = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)\s+.*\bmain\b", line)
                if m and m.group(2) == SUITE:
                    return m.group(1)
    return DEFAULT_MIRROR


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """One builder at a time across concurrent test runs on this machine."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with (CACHE_DIR / f".{name}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def rootfs() -> Path:
    """The cached minbase tree for the current recipe, built (~80-140 s) when missing."""
    mirror = apt_mirror()
    target = CACHE_DIR / f"rootfs-{SUITE}-{_digest(RECIPE_VERSION, SUITE, mirror, *PACKAGES)}"
    if (target / ".complete").exists():
        return target
    with _locked("rootfs"):
        if not (target / ".complete").exists():
            _build_rootfs(target, mirror)
    return target


def _build_rootfs(target: Path, mirror: str) -> None:
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(tmp),
            mirror,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=900,
    )
    # minbase has no /etc/hosts: MQTT to "localhost" would not resolve.
    (tmp / "etc/hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n")
    (tmp / "etc/hostname").write_text("gw-test\n")
    # An empty machine-id: systemd sets one up at boot (nspawn passes it one).
    (tmp / "etc/machine-id").write_text("")
    shutil.rmtree(tmp / "var/cache/apt/archives", ignore_errors=True)
    (tmp / ".complete").write_text(f"{SUITE} {mirror} {' '.join(PACKAGES)}\n")
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)


def _runtime_requirements() -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    return [*project["build-system"]["requires"], *project["project"]["dependencies"]]


def wheelhouse() -> Path:
    """Wheels for the build backend and runtime dependencies, for the container's Python."""
    reqs = _runtime_requirements()
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    target = CACHE_DIR / f"wheels-{_digest('1', py, *reqs)}"
    if (target / ".complete").exists():
        return target
    with _locked("wheels"):
        if not (target / ".complete").exists():
            tmp = target.with_name(target.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--only-binary=:all:",
                    "--python-version",
                    py,
                    "--dest",
                    str(tmp),
                    *reqs,
                ],
                check=True,
                timeout=600,
            )
            (tmp / ".complete").write_text("\n".join(reqs) + "\n")
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)
    return target


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Container:
    """A booted container; `run()` executes a shell command inside as root."""

    workdir: Path
    nspawn: subprocess.Popen[bytes]
    cgroup: str
    leader: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def merged(self) -> Path:
        return self.workdir / "merged"

    def path(self, inside: str) -> Path:
        """A path inside the container, seen from the host (for copying files in)."""
        return self.merged / inside.lstrip("/")

    def run(self, command: str, *, timeout: float = 120, check: bool = False) -> Result:
        argv = [
            "nsenter",
            "-t",
            str(self.leader),
            "-a",
            "/usr/bin/env",
            "-i",
            f"PATH={IN_CONTAINER_PATH}",
            "HOME=/root",
            "LANG=C.UTF-8",
            "/bin/bash",
            "-c",
            command,
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        result = Result(done.returncode, done.stdout, done.stderr)
        if check and done.returncode != 0:
            raise AssertionError(
                f"in the container: {command}\n-> {done.returncode}\n{result.output}"
            )
        return result

    def write(self, inside: str, text: str, mode: int = 0o644) -> None:
        p = self.path(inside)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        p.chmod(mode)

    def console(self) -> str:
        return (self.workdir / "console.log").read_text(errors="replace")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _copy_source(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for part in SOURCE_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / part)


@contextlib.contextmanager
def booted(name: str = "gw-test") -> Iterator[Container]:
    """Boot the cached tree on an overlay with the checkout and wheelhouse copied in."""
    t0 = time.monotonic()
    lower = rootfs()
    wheels = wheelhouse()
    t1 = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="gatewayd-nspawn-", dir="/var/tmp"))
    for d in ("upper", "work", "merged"):
        (workdir / d).mkdir()
    merged = workdir / "merged"
    subprocess.run(
        [
            "mount",
            "-t",
            "overlay",
            "overlay",
            "-o",
            f"lowerdir={lower},upperdir={workdir / 'upper'},workdir={workdir / 'work'}",
            str(merged),
        ],
        check=True,
    )
    cgroup = f"gatewayd-test-{os.getpid()}-{workdir.name[-6:]}"
    container: Container | None = None
    try:
        _copy_source(merged / "root/gatewayd")
        shutil.copytree(wheels, merged / "root/wheels")
        for hierarchy in ("systemd", "unified"):
            (Path("/sys/fs/cgroup") / hierarchy / cgroup).mkdir()
        # The shell moves itself into the new cgroups, then becomes systemd-nspawn.
        script = (
            f"echo $$ > /sys/fs/cgroup/systemd/{cgroup}/cgroup.procs && "
            f"echo $$ > /sys/fs/cgroup/unified/{cgroup}/cgroup.procs && "
            'exec systemd-nspawn --quiet --directory="$1" --machine="$2" --boot '
            "--register=no --keep-unit --capability=all --system-call-filter=bpf "
            "--console=read-only"
        )
        env = {**os.environ, "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"}
        with (workdir / "console.log").open("wb") as console:
            nspawn = subprocess.Popen(
                ["/bin/sh", "-c", script, "sh", str(merged), name],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        container = Container(workdir, nspawn, cgroup)
        deadline = time.monotonic() + 60
        while not container.leader:
            if nspawn.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"systemd-nspawn did not boot:\n{container.console()[-3000:]}")
            # nspawn's child execs systemd; until then it is not the container's PID 1
            container.leader = next((k for k in _children(nspawn.pid) if _comm(k) == "systemd"), 0)
            time.sleep(0.05)
        while True:
            state = container.run("systemctl is-system-running --wait", timeout=90)
            if state.stdout.strip() in ("running", "degraded"):
                break
            if nspawn.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"container did not finish booting: {state.output}")
            time.sleep(0.1)  # "offline": the manager is not listening yet
        container.timings = {"cache_s": t1 - t0, "boot_s": time.monotonic() - t1}
        yield container
    finally:
        if container is not None:
            _stop(container)
        subprocess.run(["umount", str(merged)], check=False)
        shutil.rmtree(workdir, ignore_errors=True)
        for hierarchy in ("systemd", "unified"):
            _remove_cgroup(Path("/sys/fs/cgroup") / hierarchy / cgroup)


def _remove_cgroup(top: Path) -> None:
    """rmdir the cgroup and what the container's systemd left below it, deepest first."""
    if not top.is_dir():
        return
    for dirpath, _dirs, _files in os.walk(top, topdown=False):
        with contextlib.suppress(OSError):
            Path(dirpath).rmdir()


def _stop(container: Container) -> None:
    """SIGTERM makes nspawn power the container off cleanly; SIGKILL after 20 s."""
    proc = container.nspawn
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
