"""A private dbus-daemon for the BLE tests (real bus, own config, unix socket in tmp)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.sinks.ble.fake_bluez import FakeBluez
from tests.sinks.ble.fake_central import FakeCentral

HERE = Path(__file__).parent

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


def start_dbus_daemon(directory: Path) -> tuple[subprocess.Popen[str], str]:
    """dbus-daemon on directory/bus with a generated config; (process, address)."""
    exe = shutil.which("dbus-daemon")
    if exe is None:
        pytest.fail("dbus-daemon not found: install Debian 'dbus' (bash dev.sh test does)")
    conf = directory / "bus.conf"
    conf.write_text(BUS_CONFIG.format(path=directory / "bus"))
    (directory / "bus").unlink(missing_ok=True)
    proc = subprocess.Popen(
        [exe, "--config-file", str(conf), "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    address = proc.stdout.readline().strip()
    proc.stdout.close()
    if not address.startswith("unix:"):
        proc.kill()
        proc.wait(5)
        pytest.fail(f"dbus-daemon printed {address!r}")
    return proc, address


def stop_dbus_daemon(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(5)


@pytest.fixture(scope="session")
def dbus_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The private bus shared by the BLE tests: unix:path=/tmp/.../bus,guid=..."""
    proc, address = start_dbus_daemon(tmp_path_factory.mktemp("dbus"))
    try:
        yield address
    finally:
        stop_dbus_daemon(proc)


@pytest.fixture(scope="session")
def client_dbus_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second private bus: the client machine's system bus (bleak and its bluetoothd)."""
    proc, address = start_dbus_daemon(tmp_path_factory.mktemp("client-dbus"))
    try:
        yield address
    finally:
        stop_dbus_daemon(proc)


@pytest.fixture
async def central(client_dbus_address: str, bluez: FakeBluez) -> AsyncIterator[FakeCentral]:
    """The client machine's fake bluetoothd, linked by radio to the gateway's (`bluez`)."""
    fake = FakeCentral(client_dbus_address, bluez)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def bluez(dbus_address: str) -> AsyncIterator[FakeBluez]:
    """A fake bluetoothd owning org.bluez with adapter hci0, stopped after the test."""
    fake = FakeBluez(dbus_address)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each BLE test takes seconds: a hang fails within minutes, not the suite-wide 900 s."""
    for item in items:
        if item.path.is_relative_to(HERE) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(180))
