"""A journald that stops reading, for real: the daemon's logging (setup_logging, as `gatewayd
run` makes it) in a process whose /run/systemd/journal/socket is a datagram socket this test
binds and does not read (a private mount namespace, as in test_journald.py).

With a blocking send (libsystemd's sd_journal_sendv, as systemd-python calls it, holding the
GIL) the 11th line waited for journald and so did the event loop: no radio, no MQTT, no
watchdog ping. Here the loop keeps turning, the lines the journal could not take are counted,
and one line says how many once it reads again.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator

import pytest

from gatewayd.config.secrets import MASK
from tests.daemon.test_journald import HEX, PROBED_LOGGING, JournalSocket, child_env

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="needs root (CAP_SYS_ADMIN) for unshare --mount and mount --bind over /run",
)

# Logs N lines as the daemon's hot path does (a reading line with its fields, a key among
# them), yielding to the loop as the pipeline does between reads, while a task measures how
# late the loop wakes it; then waits for a line on stdin before its last line.
CHILD = (
    PROBED_LOGGING
    + """
import asyncio, logging, sys
from gatewayd.config.secrets import Key
from gatewayd.daemon.logs import fields, journal_dropped, setup_logging

n = int(sys.argv[1])
Key.from_hex(sys.argv[2])
setup_logging("info", journal="yes")
log = logging.getLogger("gatewayd.readings")

def emit(i: int) -> None:
    log.info("meter 76348799: line %d key %s", i, sys.argv[2],
             extra=fields("reading", "76348799", "KAM", -71.5, name="Flat 3B"))

async def main() -> None:
    late = await log_probed(n, emit)
    print(f"logged {late * 1000:.1f}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    log.info("after", extra=fields("x"))
    await asyncio.sleep(0.5)  # the journal reads: the queue goes out meanwhile
    print(f"dropped {journal_dropped()}", flush=True)

asyncio.run(main())
"""
)


@pytest.fixture
async def journal() -> AsyncIterator[JournalSocket]:
    j = JournalSocket()
    yield j
    j.close()


async def start(journal: JournalSocket, n: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *journal.command(sys.executable, "-c", CHILD, str(n), HEX),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(),
    )


async def test_a_stalled_journal_does_not_stall_the_event_loop(journal: JournalSocket) -> None:
    journal.pause()
    n = 6000
    proc = await start(journal, n)
    assert proc.stdout is not None and proc.stdin is not None
    head = ""
    try:
        async with asyncio.timeout(30):  # blocking, it would wait here for journald forever
            head = (await proc.stdout.readline()).decode()
    finally:
        if proc.returncode is None and not head:
            proc.kill()
    assert head.startswith("logged "), head
    late_ms = float(head.split()[1])
    assert late_ms < 250  # generous for a loaded machine; blocking, it is the whole stall

    journal.resume()  # journald reads again
    proc.stdin.write(b"go\n")
    await proc.stdin.drain()
    await journal.wait_for(lambda: bool(journal.find(MESSAGE="after")), "the last line")
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert err == b""

    messages = [e["MESSAGE"] for e in journal.entries]
    kept = len(messages) - 2
    assert messages[:kept] == [
        f"meter 76348799: line {i} key {MASK}" for i in range(kept)
    ]  # the oldest lines, in order, and the key never
    assert kept < n  # the journal's queue and ours are bounded: some were dropped
    assert messages[kept:] == [
        f"journal: {n - kept} log lines dropped: journald was not reading",
        "after",
    ]
    count = journal.entries[kept]
    assert (count["GATEWAYD_EVENT"], count["PRIORITY"]) == ("journal_dropped", "4")
    assert out.decode().split()[-1] == str(n - kept)  # journal_dropped(): the sink's stats
    line = journal.entries[0]
    assert set(line) == {
        *("MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "LOGGER"),
        *("CODE_FILE", "CODE_LINE", "CODE_FUNC"),
        *("METER_ID", "METER_NAME", "MANUFACTURER", "RSSI_DBM", "GATEWAYD_EVENT"),
    }
    for data in journal.raw:
        assert HEX.encode() not in data.upper()


async def test_exit_with_a_stalled_journal_is_bounded_and_says_what_was_lost(
    journal: JournalSocket,
) -> None:
    journal.pause()
    n = 2000
    proc = await start(journal, n)
    assert proc.stdin is not None
    proc.stdin.close()  # readline() returns at once: "after", then exit
    t0 = time.monotonic()
    async with asyncio.timeout(30):
        _out, err = await proc.communicate()
    took = time.monotonic() - t0
    assert proc.returncode == 0, err.decode()
    assert took < 10  # flush_s (1 s) at exit, plus the child's own start and 0.5 s sleep
    journal.drain()
    got = [e["MESSAGE"] for e in journal.entries]
    assert got == [f"meter 76348799: line {i} key {MASK}" for i in range(len(got))]
    lost = n + 1 - len(got)  # "after" too
    assert err.decode() == f"gatewayd: {lost} log lines dropped: journald was not reading\n"
