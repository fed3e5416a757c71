"""A private dbus-daemon for the BLE tests (real bus, own config, unix socket in tmp)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.sinks.ble.fake_bluez import FakeBluez

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>gatewayd-test</type>
  <listen>unix:path={path}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="*"/>
  </policy>
</busconfig>
"""


@pytest.fixture(scope="session")
def dbus_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start dbus-daemon on a socket in tmp; the address, e.g. unix:path=/tmp/.../bus,guid=..."""
    exe = shutil.which("dbus-daemon")
    if exe is None:
        pytest.fail("dbus-daemon not found: install Debian 'dbus' (bash dev.sh test does)")
    d = tmp_path_factory.mktemp("dbus")
    conf = d / "bus.conf"
    conf.write_text(BUS_CONFIG.format(path=d / "bus"))
    proc = subprocess.Popen(
        [exe, "--config-file", str(conf), "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    address = proc.stdout.readline().strip()
    proc.stdout.close()
    try:
        assert address.startswith("unix:"), f"dbus-daemon printed {address!r}"
        yield address
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture
async def bluez(dbus_address: str) -> AsyncIterator[FakeBluez]:
    """A fake bluetoothd owning org.bluez with adapter hci0, stopped after the test."""
    fake = FakeBluez(dbus_address)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
