"""The sender against systemd's own journald: run standalone in a private mount namespace (a
tmpfs over /run and over /var/log/journal, so the host's journal is neither read nor
written), the entries read back with journalctl. Then journald is stopped (SIGSTOP) while
the logging process's event loop logs: the loop keeps turning, and once journald runs again
the journal holds the oldest lines and the count of the rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.daemon.test_journald import PROBED_LOGGING

JOURNALD = Path("/lib/systemd/systemd-journald")
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not JOURNALD.exists(),
    reason="needs root (a mount namespace) and systemd-journald",
)

# Runs in the namespace: journald of its own, then the logging.
CHILD = (
    PROBED_LOGGING
    + r"""
import asyncio, json, logging, os, signal, subprocess, sys, time
from pathlib import Path
for d in ("/run", "/var/log/journal"):
    if os.path.isdir(d):
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", d], check=True)
journald = subprocess.Popen([sys.argv[1]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
sock = Path("/run/systemd/journal/socket")
for _ in range(100):
    if sock.exists():
        break
    time.sleep(0.05)
from gatewayd.daemon.logs import fields, journal_dropped, setup_logging
handler = setup_logging("info", journal="yes")
log = logging.getLogger("gatewayd.readings")
log.info("meter 76348799 (Flat 3B): total_m3=1.5 m³",
         extra=fields("reading", "76348799", "KAM", -71.5, name="Flat 3B"))
log.warning("two\nlines", extra=fields("x"))
log.info("big %s end", "y" * 400_000)  # past a datagram: a memfd

def stalled(i: int) -> None:
    log.info("stalled %d", i, extra=fields("x"))

time.sleep(0.5)
journald.send_signal(signal.SIGSTOP)
late = asyncio.run(log_probed(int(sys.argv[2]), stalled))
journald.send_signal(signal.SIGCONT)

def sent_all() -> None:
    for _ in range(100):  # the queue goes out as journald reads
        if not handler.sender._queue and not handler.sender._pending:
            return
        time.sleep(0.05)

sent_all()
log.info("after", extra=fields("x"))
sent_all()
dropped = journal_dropped()
logging.shutdown()
time.sleep(0.5)
out = subprocess.run(
    ["journalctl", "-D", "/run/log/journal", "--all", "-o", "json", "SYSLOG_IDENTIFIER=gatewayd"],
    capture_output=True, text=True, check=True,
).stdout
journald.terminate()
journald.wait()
print(json.dumps({"late": late, "dropped": dropped, "journal": out}))
"""
)


def test_real_journald_keeps_the_fields_and_a_stop_costs_counted_lines() -> None:
    n = 5000
    ns = ["unshare", "--mount", "--propagation", "private", "--"]
    proc = subprocess.run(
        [*ns, sys.executable, "-c", CHILD, str(JOURNALD), str(n)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    entries = []
    for text in result["journal"].splitlines():
        e = json.loads(text)
        if isinstance(e["MESSAGE"], list):  # not UTF-8 text: journalctl gives bytes
            e["MESSAGE"] = bytes(e["MESSAGE"]).decode()
        entries.append(e)
    first = entries[0]
    assert first["MESSAGE"] == "meter 76348799 (Flat 3B): total_m3=1.5 m³"
    assert (first["METER_ID"], first["METER_NAME"]) == ("76348799", "Flat 3B")
    assert (first["MANUFACTURER"], first["RSSI_DBM"]) == ("KAM", "-71.5")
    assert (first["GATEWAYD_EVENT"], first["PRIORITY"]) == ("reading", "6")
    assert first["LOGGER"] == "gatewayd.readings"
    assert {k for k in first if not k.startswith("_")} == {
        *("MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "LOGGER"),
        *("CODE_FILE", "CODE_LINE", "CODE_FUNC"),
        *("METER_ID", "METER_NAME", "MANUFACTURER", "RSSI_DBM", "GATEWAYD_EVENT"),
    }
    assert entries[1]["MESSAGE"] == "two\nlines"
    assert entries[2]["MESSAGE"] == "big " + "y" * 400_000 + " end"

    assert result["late"] < 0.25  # journald stopped, the loop did not
    messages = [e["MESSAGE"] for e in entries[3:]]
    kept = len(messages) - 2
    assert messages[:kept] == [f"stalled {i}" for i in range(kept)]
    assert kept < n
    assert messages[kept:] == [
        f"journal: {n - kept} log lines dropped: journald was not reading",
        "after",
    ]
    assert result["dropped"] == n - kept
