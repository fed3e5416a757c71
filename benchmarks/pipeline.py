"""The daemon as it runs: CPU per reading, RSS and feed -> broker latency at radio rates.

    .venv/bin/python benchmarks/pipeline.py [--rates 10,100,220] [--seconds 20] [--meters 20]
                                            [--cpu-quota PCT] [--journal] [--profile]

`gatewayd run` as a subprocess, configured as in production: an rtl_wmbus radio reading a
FIFO that tests/sinks/feeder.py fills at the given rate (MULTICAL 21 telegrams, AES, every one
a new reading, taking turns among --meters configured meters: 20 by default), MQTT with the
outbox (fsynced group commits) to a private mosquitto on 127.0.0.1, state dir in a temporary
directory (--state-dir to choose the device). The broker and the feeder run outside the
measurement.

Per rate: the daemon's own CPU (utime + stime from /proc/<pid>/stat, counted from its first
reading on, so start-up is excluded) per reading, its RSS (VmRSS) at the end, and feed ->
broker latency: from the feeder's write into the FIFO to a QoS 1 subscriber receiving it
(the broker forwards it as it acknowledges the PUBLISH), p50 and p99. Every reading is
checked to have arrived.

--cpu-quota PCT: the daemon alone runs in a CPU-limited cgroup (v2 cpu.max, or v1
cpu.cfs_quota_us), PCT % of one core, standing in for a slower board. --profile: the daemon
runs under cProfile, timed by the CPU clock of its event-loop thread (so time spent waiting,
or runnable on a busy machine, is not counted), and the top functions by own time are
printed after each rate. --journal: as under systemd, every reading is also an INFO line to
journald; the daemon runs in a mount namespace where the benchmark's own socket stands in for
journald's (root; benchmarks/local_journal.py), so the daemon's side (formatting, the send) is
measured and nothing reaches a journal. Figures only; never part of the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_broker import pct, start_broker  # noqa: E402
from local_journal import JournalReceiver  # noqa: E402

from tests.sinks.feeder import FifoFeeder, daemon_config  # noqa: E402

# `gatewayd run` under cProfile timed by the thread's own CPU clock, the stats written at exit.
PROFILED = """
import cProfile, sys, time
from gatewayd.cli import main
out = sys.argv.pop(1)
prof = cProfile.Profile(time.thread_time)
try:
    prof.runcall(main, sys.argv[1:])
finally:
    prof.dump_stats(out)
"""
GW = "pipe"
TICK = os.sysconf("SC_CLK_TCK")


class Arrivals:
    def __init__(self, port: int) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self.at: dict[int, float] = {}
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{os.getpid()}")
        c.on_connect = lambda cl, _u, _f, _rc, _p: cl.subscribe(f"metersync/{GW}/meters/#", 1)
        c.on_message = self._message
        c.connect("127.0.0.1", port)
        c.loop_start()
        self._client = c

    def _message(self, _c: Any, _u: Any, m: Any) -> None:
        now = time.time()
        i = m.payload.index(b'"total_m3":') + 11
        litres = round(float(m.payload[i : m.payload.index(b",", i)]) * 1000)
        self.at.setdefault(litres, now)

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def cpu_s(pid: int) -> float:
    """CPU seconds of the whole process (utime + stime: every thread, ended ones too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def threads(pid: int) -> dict[str, float]:
    """CPU seconds of the main thread (the event loop) and of the other threads, from each
    thread's schedstat (the scheduler's own count in ns; the user/system split in
    /proc/<pid>/stat is sampled at the tick, too coarse for this)."""
    out = {"main": 0.0, "others": 0.0}
    for t in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            ns = int((t / "schedstat").read_text().split()[0])
            out["main" if t.name == str(pid) else "others"] += ns / 1e9
    return out


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def limit_cpu(pid: int, pct: float) -> str:
    """Move `pid` into a new cgroup limited to pct % of one core; returns what was used."""
    period = 100_000
    quota = int(period * pct / 100)
    v2 = Path("/sys/fs/cgroup/cgroup.controllers")
    if v2.exists() and "cpu" in v2.read_text().split():
        parent = Path("/sys/fs/cgroup")
        (parent / "cgroup.subtree_control").write_text("+cpu")
        g = parent / f"gatewayd-bench-{os.getpid()}"
        g.mkdir(exist_ok=True)
        (g / "cpu.max").write_text(f"{quota} {period}")
        (g / "cgroup.procs").write_text(str(pid))
        return f"cgroup v2 {g}/cpu.max = {quota} {period}"
    g = Path(f"/sys/fs/cgroup/cpu/gatewayd-bench-{os.getpid()}")
    g.mkdir(exist_ok=True)
    (g / "cpu.cfs_period_us").write_text(str(period))
    (g / "cpu.cfs_quota_us").write_text(str(quota))
    (g / "cgroup.procs").write_text(str(pid))
    return f"cgroup v1 {g}/cpu.cfs_quota_us = {quota} (period {period})"


def remove_cgroups() -> None:
    for base in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/cpu")):
        g = base / f"gatewayd-bench-{os.getpid()}"
        if g.exists():
            with contextlib.suppress(OSError):
                g.rmdir()


def run(
    tmp: Path,
    port: int,
    rate: float,
    seconds: float,
    args: argparse.Namespace,
    journal: JournalReceiver | None = None,
) -> None:
    d = Path(tempfile.mkdtemp(dir=args.state_dir or tmp))
    feeder = FifoFeeder(d / "radio.fifo", rate=rate, meters=args.meters)
    window = "" if args.commit_window_ms is None else f"commit_window_ms = {args.commit_window_ms}"
    cfg = daemon_config(
        d / "config.toml",
        gateway=GW,
        state=d / "state",
        fifo=feeder.fifo,
        port=port,
        mqtt=window,
        meters=args.meters,
    )
    if args.read_interval_ms is not None:
        text = cfg.read_text().replace(
            "[radio]\n", f"[radio]\nread_interval_ms = {args.read_interval_ms}\n"
        )
        cfg.write_text(text)
    if args.journal:  # as under systemd: every reading an INFO line to journald
        text = cfg.read_text().replace('level = "warning"', 'level = "info"')
        cfg.write_text(text.replace('journal = "no"', 'journal = "yes"'))
    arrivals = Arrivals(port)
    cmd = [sys.executable]
    prof = d / "daemon.prof"
    if args.profile:  # CPU time of the event loop's thread (wall time counts waiting too)
        cmd += ["-c", PROFILED, str(prof)]
    else:
        cmd += ["-m", "gatewayd"]
    proc = subprocess.Popen(
        [*cmd, "run", "--config", str(cfg)],
        cwd=ROOT,
        preexec_fn=journal.enter if journal is not None else None,  # noqa: PLW1509
    )
    limited = limit_cpu(proc.pid, args.cpu_quota) if args.cpu_quota else "no CPU limit"
    feeder.start()
    while not arrivals.at and proc.poll() is None:
        time.sleep(0.01)
    c0, n0, t0 = cpu_s(proc.pid), len(arrivals.at), threads(proc.pid)
    first = feeder.next
    time.sleep(seconds)
    feeder.paused.set()
    last = feeder.next - 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(arrivals.at) < last - min(arrivals.at) + 1:
        time.sleep(0.05)
    c1, n1, t1 = cpu_s(proc.pid), len(arrivals.at), threads(proc.pid)
    rss = rss_mib(proc.pid)
    proc.terminate()
    proc.wait(timeout=20)
    feeder.stop()
    arrivals.close()
    remove_cgroups()
    lat = [arrivals.at[n] - feeder.sent_at[n] for n in range(first, last + 1) if n in arrivals.at]
    sent = range(min(arrivals.at), last + 1)
    missing = sum(1 for n in sent if n not in arrivals.at)
    n = n1 - n0
    print(
        f"{rate:g}/s x {seconds:g} s ({limited}): {n} readings measured, {missing} of "
        f"{len(sent)} sent not delivered; daemon CPU {(c1 - c0) / max(n, 1) * 1000:.3f} ms per "
        f"reading ({(c1 - c0) / seconds * 100:.1f} % of a core), RSS {rss:.1f} MiB; feed -> "
        f"subscriber p50 {pct(lat, 0.5):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, max "
        f"{max(lat, default=0) * 1000:.0f} ms",
        flush=True,
    )
    per = max(n, 1) / 1000  # ms per reading
    split = ", ".join(f"{k} {(v - t0.get(k, 0.0)) / per:.3f}" for k, v in t1.items())
    print(f"   by thread, ms per reading: {split}", flush=True)
    if args.profile and prof.exists():
        pstats.Stats(str(prof)).sort_stats("tottime").print_stats(args.top)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rates", default="10,100,220", help="readings/s, one run each")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--cpu-quota", type=float, default=0.0, help="PCT of one core (root)")
    ap.add_argument("--profile", action="store_true", help="cProfile the daemon")
    ap.add_argument("--top", type=int, default=15, help="functions shown by --profile")
    ap.add_argument("--meters", type=int, default=20, help="meters the telegrams take turns")
    ap.add_argument("--journal", action="store_true", help="log each reading to journald")
    ap.add_argument("--state-dir", type=Path, default=None, help="where state dirs are made")
    ap.add_argument(
        "--commit-window-ms",
        type=int,
        default=None,
        help="[mqtt] commit_window_ms (default: its default)",
    )
    ap.add_argument(
        "--read-interval-ms",
        type=int,
        default=None,
        help="[radio] read_interval_ms (default: its default)",
    )
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory() as t:
        broker, port = start_broker(Path(t))
        journal = JournalReceiver(Path(t) / "journal") if args.journal else None
        try:
            for r in args.rates.split(","):
                run(Path(t), port, float(r), args.seconds, args, journal)
        finally:
            broker.terminate()
            broker.wait()
            if journal is not None:
                print(f"journal lines received: {journal.lines}", flush=True)
                journal.close()


if __name__ == "__main__":
    main()
