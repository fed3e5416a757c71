"""journald's socket for real: the daemon's native-protocol sender (daemon/journalsend.py) to
/run/systemd/journal/socket, the fixed path journald listens on.

Nothing of the host is touched: each logging process runs in a private mount namespace
(`unshare --mount`) where a temporary directory is bind-mounted over /run, so the path
resolves to a datagram socket this test binds and reads. The datagrams are parsed as journald's
native protocol (`KEY=value\\n`, or `KEY\\n` + 64-bit LE length + value + `\\n` when the value
holds a newline; a memfd passed with SCM_RIGHTS for large entries).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from gatewayd.config.secrets import MASK
from gatewayd.demo.sim import ImstSimulator
from tests.daemon.harness import KEY, METER, OTHER_KEY, DaemonProcess, mc21, write_config

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="needs root (CAP_SYS_ADMIN) for unshare --mount and mount --bind over /run",
)

HEX = "00112233445566778899AABBCCDDEEFF"  # a test-only key

# For a child program: `await log_probed(n, emit)` calls emit(i) for i < n, yielding to the
# loop every 20 lines as the pipeline does between reads, and returns how late (s), at worst,
# the loop woke a task sleeping 5 ms meanwhile.
PROBED_LOGGING = """
import asyncio, time

async def log_probed(n, emit):
    late = 0.0
    async def probe():
        nonlocal late
        while True:
            t = time.monotonic()
            await asyncio.sleep(0.005)
            late = max(late, time.monotonic() - t - 0.005)
    task = asyncio.create_task(probe())
    await asyncio.sleep(0.02)
    for i in range(n):
        emit(i)
        if i % 20 == 19:
            await asyncio.sleep(0.001)
    task.cancel()
    return late
"""
INVOCATION_ID = "5e3f0c2a9b8d4e6f8a7b6c5d4e3f2a1b"
Entry = dict[str, str]


def parse_native(data: bytes) -> Entry:
    """One journald native-protocol entry -> {field: value}."""
    entry: Entry = {}
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = nl + 1
        else:  # KEY \n <u64 LE length> <value> \n
            key = line
            size = int.from_bytes(data[nl + 1 : nl + 9], "little")
            value = data[nl + 9 : nl + 9 + size]
            assert data[nl + 9 + size : nl + 10 + size] == b"\n", data
            i = nl + 10 + size
        entry[key.decode()] = value.decode()
    return entry


def journald_keeps(entry: Entry) -> set[str]:
    """The field names journald stores from a client: uppercase letters, digits and `_`, not
    starting with a digit or `_` (those are its trusted fields), at most 64 characters; it
    drops the rest (systemd.journal-fields(7))."""
    return {k for k in entry if re.fullmatch(r"[A-Z][A-Z0-9_]{0,63}", k)}


class JournalSocket:
    """journald's native socket as libsystemd sees it: root/systemd/journal/socket, with root
    to be bind-mounted over /run inside the logging process's mount namespace."""

    def __init__(self) -> None:
        # short: an AF_UNIX path has at most 107 bytes
        self.root = Path(tempfile.mkdtemp(prefix="gwj-", dir="/tmp"))
        path = self.root / "systemd" / "journal" / "socket"
        path.parent.mkdir(parents=True)
        self.raw: list[bytes] = []
        self.entries: list[Entry] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.setblocking(False)
        self._changed = asyncio.Event()
        asyncio.get_running_loop().add_reader(self._sock.fileno(), self.drain)

    def command(self, *argv: str) -> list[str]:
        """argv run where /run/systemd/journal/socket is this socket (the host's /run unseen)."""
        mount = 'mount --bind "$0" /run && exec "$@"'
        ns = ["unshare", "--mount", "--propagation", "private", "--"]
        return [*ns, "sh", "-c", mount, str(self.root), *argv]

    def drain(self) -> None:
        while True:
            try:
                data, fds, flags, _ = socket.recv_fds(self._sock, 1 << 20, 1)
            except BlockingIOError:
                return
            assert not flags & socket.MSG_TRUNC
            for fd in fds:  # a large entry comes as a sealed memfd
                try:
                    data += os.pread(fd, 1 << 24, 0)
                finally:
                    os.close(fd)
            self.raw.append(data)
            self.entries.append(parse_native(data))
            self._changed.set()

    def pause(self) -> None:
        """Stop reading, as a stalled journald does (the socket stays bound)."""
        asyncio.get_running_loop().remove_reader(self._sock.fileno())

    def resume(self) -> None:
        self.drain()
        asyncio.get_running_loop().add_reader(self._sock.fileno(), self.drain)

    def find(self, **want: str) -> list[Entry]:
        return [e for e in self.entries if all(e.get(k) == v for k, v in want.items())]

    def one(self, **want: str) -> Entry:
        found = self.find(**want)
        assert len(found) == 1, (want, self.entries)
        return found[0]

    async def wait_for(self, cond: Callable[[], bool], what: str, timeout: float = 15) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not cond():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}: {self.entries}") from None

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self._sock.fileno())
        self._sock.close()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
async def journal() -> AsyncIterator[JournalSocket]:
    j = JournalSocket()
    yield j
    j.close()


def child_env(**env: str) -> dict[str, str]:
    """This environment without any systemd hints, plus `env`."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("JOURNAL_STREAM", "INVOCATION_ID")
        and not k.startswith(("NOTIFY_", "WATCHDOG_"))
    }
    return base | env


# What a pipeline logs, then a key, a traceback, a library's multi-line warning.
CHILD = """
import logging, sys
from gatewayd.daemon.logs import fields, setup_logging
from gatewayd.config.secrets import Key

handler = setup_logging("debug", journal=sys.argv[1])
print(f"{type(handler).__module__}.{type(handler).__name__}", flush=True)
log = logging.getLogger("gatewayd.daemon.pipeline")
log.info(
    "meter %s: alarms now %s",
    "76348799",
    "leak",
    extra=fields(
        "decoded", meter_id="76348799", manufacturer="KAM", rssi_dbm=-71.5, name="Flat 3B"
    ),
)
logging.getLogger("gatewayd.radios.supervisor").info("radio up", extra=fields("x", radio="r1"))
log.debug("plain debug line")
Key.from_hex(sys.argv[2])
log.warning("configured key %s", sys.argv[2])
try:
    raise ValueError("bad " + sys.argv[2].lower())
except ValueError:
    log.exception("decrypt failed")
logging.getLogger("some.library").warning("multi\\nline")
"""


async def run_child(journal: JournalSocket, mode: str, **env: str) -> tuple[str, str]:
    proc = await asyncio.create_subprocess_exec(
        *journal.command(sys.executable, "-c", CHILD, mode, HEX),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(**env),
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    journal.drain()  # datagrams are queued before the sender exits
    return out.decode().strip(), err.decode()


async def test_structured_fields_reach_journald_and_secrets_do_not(
    journal: JournalSocket,
) -> None:
    handler, stderr = await run_child(journal, "auto", JOURNAL_STREAM="8:424242")
    assert handler == "gatewayd.daemon.logs.JournalFieldsHandler"
    assert stderr == ""  # nothing fell back to stderr, no "--- Logging error ---"
    assert all(e["SYSLOG_IDENTIFIER"] == "gatewayd" for e in journal.entries)
    assert len(journal.entries) == 6

    line = journal.one(MESSAGE="meter 76348799: alarms now leak")
    assert line["PRIORITY"] == "6"  # info
    assert line["LOGGER"] == "gatewayd.daemon.pipeline"
    assert line["METER_ID"] == "76348799"
    assert line["MANUFACTURER"] == "KAM"
    assert line["RSSI_DBM"] == "-71.5"
    assert line["GATEWAYD_EVENT"] == "decoded"
    assert line["METER_NAME"] == "Flat 3B"
    assert line["CODE_FUNC"] == "<module>" and line["CODE_LINE"].isdigit()
    # exactly the documented fields (docs/deploy.md), as sent: none of the LogRecord's own
    # attributes (msg, args, levelname, threadName, ...), in any case
    assert set(line) == {
        *("MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "LOGGER"),
        *("CODE_FILE", "CODE_LINE", "CODE_FUNC"),
        *("METER_ID", "METER_NAME", "MANUFACTURER", "RSSI_DBM", "GATEWAYD_EVENT"),
    }
    assert journald_keeps(line) == set(line)
    for undocumented in ("ARGS", "MSG", "LEVELNAME", "THREAD_NAME", "PROCESS_NAME", "CODE_ARGS"):
        assert all(undocumented not in {k.upper() for k in e} for e in journal.entries)

    radio = journal.one(MESSAGE="radio up")
    assert (radio["RADIO"], radio["GATEWAYD_EVENT"]) == ("r1", "x")

    plain = journal.one(MESSAGE="plain debug line")
    assert plain["PRIORITY"] == "7"
    assert set(plain) == {
        *("MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "LOGGER"),
        *("CODE_FILE", "CODE_LINE", "CODE_FUNC"),
    }

    # the key: scrubbed in MESSAGE, in the traceback, and not shipped raw in any field
    assert journal.one(MESSAGE=f"configured key {MASK}")["PRIORITY"] == "4"
    failed = [e for e in journal.entries if e["MESSAGE"].startswith("decrypt failed\n")]
    assert len(failed) == 1 and failed[0]["PRIORITY"] == "3"
    assert f"ValueError: bad {MASK}" in failed[0]["MESSAGE"]
    assert f"ValueError: bad {MASK}" in failed[0]["EXCEPTION_TEXT"]
    for data in journal.raw:
        assert HEX.encode() not in data.upper()
    assert not any("CODE_ARGS" in e for e in journal.entries)

    # a value with a newline travels in the length-prefixed binary form
    assert journal.one(MESSAGE="multi\nline")["LOGGER"] == "some.library"


@pytest.mark.parametrize(
    ("mode", "env", "to_journal"),
    [
        ("auto", {"JOURNAL_STREAM": "8:424242"}, True),
        ("auto", {"INVOCATION_ID": INVOCATION_ID}, True),
        ("auto", {}, False),
        ("yes", {}, True),
        ("no", {"JOURNAL_STREAM": "8:424242", "INVOCATION_ID": INVOCATION_ID}, False),
    ],
)
async def test_journal_setting_picks_the_handler(
    journal: JournalSocket, mode: str, env: dict[str, str], to_journal: bool
) -> None:
    handler, stderr = await run_child(journal, mode, **env)
    if to_journal:
        assert handler == "gatewayd.daemon.logs.JournalFieldsHandler"
        assert journal.find(METER_ID="76348799", GATEWAYD_EVENT="decoded")
        assert stderr == ""
    else:
        assert handler == "logging.StreamHandler"
        assert journal.entries == []
        assert "meter 76348799: alarms now leak [meter_id=76348799 meter_name=Flat 3B" in stderr


async def test_gatewayd_run_under_systemd_logs_to_journald(
    tmp_path: Path, journal: JournalSocket
) -> None:
    cfg = write_config(tmp_path, extra='journal = "auto"')
    async with ImstSimulator(link=tmp_path / "ttyWMBUS", rate=20) as sim:
        proc = await asyncio.create_subprocess_exec(
            *journal.command(sys.executable, "-m", "gatewayd", "run", "--config", str(cfg)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=child_env(INVOCATION_ID=INVOCATION_ID),
        )
        d = DaemonProcess(proc)
        try:
            await journal.wait_for(lambda: bool(journal.find(GATEWAYD_EVENT="ready")), "ready")
            # iM871A RSSI: 0.5 * raw - 122.5 dBm: 0x70 -> -66.5, 0x66 -> -71.5
            sim.send(mc21(1, 100_123), rssi_raw=0x70)
            sim.send(mc21(1, 5, meter="99999999", key=OTHER_KEY), rssi_raw=0x66)
            await d.wait_readings(1)
            await journal.wait_for(
                lambda: bool(journal.find(GATEWAYD_EVENT="unconfigured_meter")), "unconfigured"
            )
            rc = await d.stop()
        finally:
            await d.kill()
    journal.drain()
    assert rc == 0, d.log()
    assert d.log() == ""  # every log line went to journald, none to stderr
    assert [r["rssi_dbm"] for r in d.readings] == [-66.5]
    assert all(e["SYSLOG_IDENTIFIER"] == "gatewayd" for e in journal.entries)

    events = [e["GATEWAYD_EVENT"] for e in journal.entries if "GATEWAYD_EVENT" in e]
    lifecycle = [e for e in events if e in ("starting", "ready", "stopping", "stopped")]
    assert lifecycle == ["starting", "ready", "stopping", "stopped"]
    starting = journal.one(GATEWAYD_EVENT="starting")["MESSAGE"]
    assert starting.startswith("gatewayd starting: gateway test-gw, radio")
    assert starting.endswith("sinks: stdout, journal")  # the journal sink joins under journald

    stranger = journal.one(GATEWAYD_EVENT="unconfigured_meter")
    assert stranger["MESSAGE"].startswith("unconfigured meter 99999999: KAM cold water")
    assert stranger["PRIORITY"] == "6"
    assert (stranger["METER_ID"], stranger["MANUFACTURER"]) == ("99999999", "KAM")
    assert stranger["RSSI_DBM"] == "-71.5"

    decoded = journal.one(GATEWAYD_EVENT="decoded")
    assert decoded["MESSAGE"] == f"meter {METER} (kitchen): published (first)"
    assert decoded["PRIORITY"] == "7"
    # the operator's line: 100 123 litres sent, -66.5 dBm as above; no flow record, status OK
    reading = journal.one(GATEWAYD_EVENT="reading")
    assert reading["MESSAGE"] == f"meter {METER} (kitchen): total_m3=100.123 m³, rssi -66.5 dBm"
    assert reading["PRIORITY"] == "6" and reading["LOGGER"] == "gatewayd.readings"
    for e in (decoded, reading):
        assert (e["METER_ID"], e["MANUFACTURER"], e["RSSI_DBM"]) == (METER, "KAM", "-66.5")
        assert e["METER_NAME"] == "kitchen"

    for data in journal.raw:
        assert KEY.hex().encode() not in data.lower()
        assert OTHER_KEY.hex().encode() not in data.lower()


async def test_a_reload_applies_log_journal_and_log_readings(
    tmp_path: Path, journal: JournalSocket
) -> None:
    """[log] journal "no" -> "yes" moves the lines from stderr to journald; readings = false
    keeps the events and drops the per-reading lines; no "needs a restart" warning."""
    cfg = write_config(tmp_path, extra='journal = "no"')
    async with ImstSimulator(link=tmp_path / "ttyWMBUS", rate=20) as sim:
        proc = await asyncio.create_subprocess_exec(
            *journal.command(sys.executable, "-m", "gatewayd", "run", "--config", str(cfg)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=child_env(INVOCATION_ID=INVOCATION_ID),
        )
        d = DaemonProcess(proc)
        try:
            await d.wait_log("radio ")
            await d.wait_log(" ready")
            sim.send(mc21(1, 100_123))
            await d.wait_readings(1)
            await d.wait_log(f"meter {METER} (kitchen): total_m3=100.123 m³")
            write_config(tmp_path, extra='journal = "yes"\nreadings = false')
            d.signal(signal.SIGHUP)
            await journal.wait_for(lambda: bool(journal.find(GATEWAYD_EVENT="reloaded")), "reload")
            sim.send(mc21(2, 100_456))
            await d.wait_readings(2)
            await journal.wait_for(
                lambda: bool(journal.find(GATEWAYD_EVENT="decoded")), "the decoded line"
            )
            rc = await d.stop()
        finally:
            await d.kill()
    journal.drain()
    assert rc == 0, d.log()
    assert [r["total_m3"] for r in d.readings] == [100.123, 100.456]
    assert d.log_count("GATEWAYD_EVENT") == 0 and d.log_count("gatewayd_event=reading") == 1
    assert "restart" not in d.log()  # both settings were applied, not deferred
    assert not journal.find(GATEWAYD_EVENT="reload_partial")
    assert not journal.find(GATEWAYD_EVENT="reading")  # readings = false
    assert journal.one(GATEWAYD_EVENT="decoded")["MESSAGE"] == (
        f"meter {METER} (kitchen): published (changed)"
    )
    assert journal.one(GATEWAYD_EVENT="stopped")
