"""gatewayd inside the booted container: configure, feed telegrams, read its journal."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from typing import Any

from tests.system.container import Container, Result

FEED = "/run/gatewayd-feed/telegrams.txt"  # the replay radio follows this file
METER = "76348799"
KEY = "28F64A24988064A079AA2C807D6102AE"  # the Multical 21 vector K1's key
WRONG_KEY = "000102030405060708090A0B0C0D0E0F"
# K1 as a replay line: total 6.408 m3
K1 = "2A442D2C998734761B168D2091D37CAC21E1D68CDAFFCD3DC452BD802913FF7B1706CA9E355D6C2701CC24;-71"
INSTALL = (
    "GATEWAYD_PIP_ARGS='--no-index --find-links /root/wheels' /root/gatewayd/deploy/install.sh"
)


def replay_config(*, extra: str = "", device: str | None = None, kind: str = "replay") -> str:
    dev = device or f"| exec tail -n +1 -F {FEED}"
    return f"""
[gateway]
id = "gw-test"

[radio]
kind = "{kind}"
device = "{dev}"

[dedup]
window_s = 0

[[meters]]
id = "{METER}"
name = "kitchen"
{extra}
"""


def keys_toml(key: str) -> str:
    return f'[keys]\n"{METER}" = "{key}"\n'


def configure(c: Container, config: str, key: str = KEY, *, start: bool = True) -> Result:
    """Stop the service, write config and keys, start afresh (empty state, empty feed)."""
    c.run("systemctl stop gatewayd; systemctl reset-failed gatewayd", timeout=60)
    c.write("/etc/gatewayd/config.toml", config)
    c.write("/etc/gatewayd/keys.toml", keys_toml(key), mode=0o600)
    c.run(f"rm -rf /var/lib/gatewayd/*; mkdir -p {FEED.rsplit('/', 1)[0]}; : > {FEED}", check=True)
    if not start:
        return Result(0, "", "")
    return c.run("systemctl start gatewayd", timeout=90)


def feed(c: Container, *lines: str) -> None:
    c.run(f"printf '%s\\n' {' '.join(shlex.quote(x) for x in lines)} >> {FEED}", check=True)


def prop(c: Container, name: str) -> str:
    return c.run(f"systemctl show -p {name} --value gatewayd", check=True).stdout.strip()


def journal(c: Container, *matches: str) -> list[dict[str, Any]]:
    """This invocation's journal entries (as journalctl -o json), optionally matched."""
    inv = prop(c, "InvocationID")
    args = " ".join(shlex.quote(m) for m in matches)
    out = c.run(
        f"journalctl --no-pager -o json -u gatewayd _SYSTEMD_INVOCATION_ID={inv} {args}",
        check=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def wait_until(what: str, cond: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def messages(entries: list[dict[str, Any]]) -> list[str]:
    return [str(e.get("MESSAGE", "")) for e in entries]
