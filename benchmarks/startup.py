"""Start-up: `gatewayd run` from exec to READY=1 (sd_notify), for sites of N configured meters.

    python benchmarks/startup.py [--meters 3 100 10000] [--repeat 3] [--cpu-quota PCT] [--mqtt]
        [--journal] [--restart] [--no-bytecode] [--no-config-cache]

For each N it writes a site: a config of N meters (each with its own key) and a replay radio
reading a FIFO that the benchmark holds open, kept at one path for all its runs as on a
gateway. Each run starts the daemon with NOTIFY_SOCKET pointing at a datagram
socket made here, and times exec -> READY=1; it also reads the daemon's own CPU time at READY
from /proc. `--cpu-quota 10` runs the daemon alone in a CPU-limited cgroup (v2 cpu.max or v1
cpu.cfs_quota_us, whichever the machine has; needs root) to stand in for a Pi Zero 2 W core.
`--mqtt` adds an [mqtt] section (to a port where no broker listens: the sink starts and
retries in the background, as on a site whose broker is down). `--journal`: as under systemd,
logging goes to journald at level info (the journal handler and the readings' journal sink are
loaded, and the start-up lines sent); the daemon runs in a mount namespace of its own where
/run/systemd/journal is a directory of the benchmark's, whose socket the benchmark reads (root),
so nothing reaches a journal and a journald running here is left alone. `--restart`: every
measured start finds the state dir that the one before left (the outbox, ha-announced.json,
meters.json), as when a site restarts; by default each start is a first one, on an empty state
dir. Prints one line per N: the median and the worst of the runs.

An installed package has its bytecode (pip writes the .pyc files); a checkout run with
PYTHONDONTWRITEBYTECODE=1 compiles every module at every start. By default the daemon runs as
installed: bytecode is cached in a temporary PYTHONPYCACHEPREFIX, warmed by one unmeasured
run. `--no-bytecode` measures the compile-every-start case instead. As under systemd
(CacheDirectory=), the daemon gets a CACHE_DIRECTORY, where the unmeasured first start of each
site leaves its parsed config; `--no-config-cache` runs without one (a config just edited, or
gatewayd run by hand), so every start parses config.toml.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from local_journal import JournalReceiver

CLK_TCK = os.sysconf("SC_CLK_TCK")


def write_config(tmp: Path, state: Path, meters: int, mqtt: bool, journal: bool) -> Path:
    fifo = tmp / "radio.fifo"
    os.mkfifo(fifo)
    level, to_journal = ("info", "yes") if journal else ("warning", "no")
    lines = [
        f'[gateway]\nid = "bench"\nstate_dir = "{state}"\n',
        f'[radio]\nkind = "replay"\ndevice = "{fifo}"\n',
        f'[log]\nlevel = "{level}"\njournal = "{to_journal}"\n',
    ]
    if mqtt:
        lines.append('[mqtt]\nhost = "127.0.0.1"\nport = 9\n')
    for i in range(meters):
        key = (i * 0x9E3779B97F4A7C15 + 1).to_bytes(16, "little", signed=False).hex()
        lines.append(f'[[meters]]\nid = "{0x10000000 + i:08x}"\nname = "m{i}"\nkey = "{key}"\n')
    cfg = tmp / "config.toml"
    cfg.write_text("".join(lines))
    return cfg


def make_site(root: Path, meters: int, args: argparse.Namespace) -> Path:
    """A site of `meters` meters under root: config.toml (the same path and bytes at every
    start, as on a gateway), the radio FIFO and the state dir."""
    site = root / f"site-{meters}"
    site.mkdir()
    write_config(site, site / "state", meters, args.mqtt, args.journal)
    return site


def fresh_state(site: Path) -> None:
    """An empty state dir: a first start."""
    shutil.rmtree(site / "state", ignore_errors=True)
    (site / "state").mkdir()


@contextlib.contextmanager
def cpu_cgroup(percent: float | None, period_ms: float = 100) -> Iterator[Path | None]:
    """A cgroup limited to `percent` of one core (in periods of `period_ms`); None when no
    limit was asked."""
    if percent is None:
        yield None
        return
    period = int(period_ms * 1000)
    quota = max(1000, int(period * percent / 100))
    v2 = Path("/sys/fs/cgroup/cgroup.controllers")
    if v2.exists():
        group = Path(f"/sys/fs/cgroup/gatewayd-startup-{os.getpid()}")
        group.mkdir()
        (group / "cpu.max").write_text(f"{quota} {period}\n")
    else:
        group = Path(f"/sys/fs/cgroup/cpu/gatewayd-startup-{os.getpid()}")
        group.mkdir()
        (group / "cpu.cfs_period_us").write_text(f"{period}\n")
        (group / "cpu.cfs_quota_us").write_text(f"{quota}\n")
    try:
        yield group
    finally:
        with contextlib.suppress(OSError):
            group.rmdir()


def cpu_seconds(pid: int) -> float:
    """The process's CPU time, all threads: from schedstat in nanoseconds where the kernel
    has it, else utime + stime in clock ticks (10 ms steps)."""
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return sum(int((t / "schedstat").read_text().split()[0]) for t in tasks) / 1e9
    except (OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK


def one_run(
    site: Path,
    group: Path | None,
    args: argparse.Namespace,
    pycache: str | None,
    journal: JournalReceiver | None = None,
) -> tuple[float, float]:
    """(seconds exec -> READY=1, the daemon's CPU seconds at READY) for the site in `site`
    (its config.toml, radio.fifo and state dir, written by `make_site`)."""
    cfg = site / "config.toml"
    with tempfile.TemporaryDirectory(prefix="gatewayd-startup-") as tmpname:
        tmp = Path(tmpname)
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(tmp / "notify"))
        notify.settimeout(120)
        holder = os.open(site / "radio.fifo", os.O_RDWR | os.O_NONBLOCK)  # a writer, never closed
        env = {**os.environ, "NOTIFY_SOCKET": str(tmp / "notify")}
        env.pop("CREDENTIALS_DIRECTORY", None)
        env.pop("CACHE_DIRECTORY", None)
        if not args.no_config_cache:  # as systemd's CacheDirectory= gives it
            env["CACHE_DIRECTORY"] = str(site.parent / "cache")
        if pycache is not None:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = pycache
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        procs = (group / "cgroup.procs") if group is not None else None

        def enter_group() -> None:
            if procs is not None:
                procs.write_text(f"{os.getpid()}\n")
            if journal is not None:
                journal.enter()

        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "gatewayd", "run", "--config", str(cfg)],
            env=env,
            cwd=tmp,  # `-m gatewayd` is the installed package, whatever checkout we run from
            preexec_fn=enter_group,  # noqa: PLW1509 (single-threaded here)
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            while True:
                message = notify.recv(4096).decode()
                if "READY=1" in message.split("\n"):
                    ready = time.monotonic() - start
                    cpu = cpu_seconds(proc.pid)
                    break
        except TimeoutError:
            proc.kill()
            _, err = proc.communicate()
            raise SystemExit(f"no READY=1 within 120 s: {err.decode()[-2000:]}") from None
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=60)
            os.close(holder)
            notify.close()
        return ready, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--meters", type=int, nargs="+", default=[3, 100, 10_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cpu-quota", type=float, metavar="PCT", help="limit to PCT of a core")
    parser.add_argument(
        "--cpu-period-ms",
        type=float,
        default=100,
        metavar="MS",
        help="the quota's period (default 100, the kernel's; 10 throttles more finely)",
    )
    parser.add_argument("--mqtt", action="store_true", help="also configure the MQTT sink")
    parser.add_argument("--journal", action="store_true", help="log to journald, as under systemd")
    parser.add_argument(
        "--restart", action="store_true", help="each start finds the state the last one left"
    )
    parser.add_argument(
        "--no-bytecode", action="store_true", help="compile every module at every start"
    )
    parser.add_argument(
        "--no-config-cache",
        action="store_true",
        help="no CACHE_DIRECTORY: config.toml is parsed at every start",
    )
    args = parser.parse_args()
    limit = (
        f"{args.cpu_quota:g} % of a core (period {args.cpu_period_ms:g} ms)"
        if args.cpu_quota
        else "no CPU limit"
    )
    sinks = "MQTT (no broker)" if args.mqtt else "no sinks"
    if args.journal:
        sinks += ", journald at level info"
    code = "compiled at every start" if args.no_bytecode else "bytecode cached, as installed"
    state_kept = "each a restart on the last one's state" if args.restart else "each a first start"
    if args.no_config_cache:
        state_kept += ", config parsed (no cache dir)"
    else:
        state_kept += ", config from the cache dir"
    print(
        f"gatewayd run: exec -> READY=1, replay radio on a FIFO, {sinks}, {limit}, {code}, "
        f"{state_kept}"
    )
    with (
        tempfile.TemporaryDirectory(prefix="gatewayd-pycache-") as pycache_dir,
        tempfile.TemporaryDirectory(prefix="gatewayd-sites-") as sites_dir,
        cpu_cgroup(args.cpu_quota, args.cpu_period_ms) as group,
        contextlib.ExitStack() as stack,
    ):
        root = Path(sites_dir)
        (root / "cache").mkdir(mode=0o700)
        journal = JournalReceiver(root / "journal") if args.journal else None
        if journal is not None:
            stack.callback(journal.close)
        pycache = None if args.no_bytecode else pycache_dir
        for meters in args.meters:
            site = make_site(root, meters, args)
            fresh_state(site)
            # Unmeasured: writes the bytecode (the first time), the parsed-config cache
            # (unless --no-config-cache) and, for --restart, the state the measured ones find.
            one_run(site, None, args, pycache, journal)
            runs = []
            for _ in range(args.repeat):
                if not args.restart:
                    fresh_state(site)
                runs.append(one_run(site, group, args, pycache, journal))
            ready = [r for r, _ in runs]
            cpu = [c for _, c in runs]
            print(
                f"{meters:>6} meters: READY after {statistics.median(ready):.3f} s median, "
                f"{max(ready):.3f} s worst; daemon CPU at READY {statistics.median(cpu):.3f} s "
                f"({args.repeat} runs)",
                flush=True,
            )
        if journal is not None:
            print(f"journal datagrams received: {journal.lines}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
