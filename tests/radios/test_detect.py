"""`gatewayd detect` on a fake /dev + /sys tree laid out as the kernel does (relative symlinks
from /dev/serial/by-id and /sys/class/tty into /sys/devices): what it finds, the config it
prints, and that it opens no port."""

from __future__ import annotations

import asyncio
import errno
import json
import os
from pathlib import Path

import pytest

from gatewayd.commands.detect import scan
from tests.conftest import REPO
from tests.radios.test_listen import _gatewayd

IM871A_BY_ID = "usb-IMST_GmbH_iM871A-USB_A5E2-if00-port0"


def _usb_tty(root: Path, bus_path: str, tty: str, vid: str, pid: str, product: str) -> None:
    """/sys/devices/.../<usb dev>/<interface>/<tty>, with /sys/class/tty/<tty>/device -> it."""
    usb_dev = root / "sys/devices/pci0000:00/0000:00:14.0/usb1" / bus_path
    usb_dev.mkdir(parents=True)
    (usb_dev / "idVendor").write_text(vid + "\n")
    (usb_dev / "idProduct").write_text(pid + "\n")
    (usb_dev / "product").write_text(product + "\n")
    iface = usb_dev / f"{bus_path}:1.0" / tty
    iface.mkdir(parents=True)
    cls = root / "sys/class/tty" / tty
    cls.mkdir(parents=True)
    (cls / "device").symlink_to(os.path.relpath(iface, cls))
    os.mkfifo(root / "dev" / tty)  # a port nobody may open: opening it for reading blocks


def fake_tree(root: Path) -> Path:
    (root / "dev/serial/by-id").mkdir(parents=True)
    _usb_tty(root, "1-1", "ttyUSB0", "10c4", "ea60", "iM871A-USB")
    _usb_tty(root, "1-2", "ttyUSB1", "10c4", "ea60", "CP2102 USB to UART Bridge Controller")
    _usb_tty(root, "1-3", "ttyACM0", "03eb", "204b", "CUL868")
    by_id = root / "dev/serial/by-id"
    (by_id / IM871A_BY_ID).symlink_to("../../ttyUSB0")
    (by_id / "usb-Silicon_Labs_CP2102_0001-if00-port0").symlink_to("../../ttyUSB1")
    sdr = root / "sys/bus/usb/devices/1-4"
    sdr.mkdir(parents=True)
    (sdr / "idVendor").write_text("0bda\n")
    (sdr / "idProduct").write_text("2838\n")
    return root


def test_scan_names_kinds_and_config_lines(tmp_path: Path) -> None:
    found = {f.device: f for f in scan(fake_tree(tmp_path))}
    im = found[f"/dev/serial/by-id/{IM871A_BY_ID}"]
    assert (im.tty, im.usb_id, im.kind) == ("/dev/ttyUSB0", "10c4:ea60", "im871a")
    assert im.config_lines() == [
        "[radio]",
        'kind = "im871a"',
        f'device = "/dev/serial/by-id/{IM871A_BY_ID}"',
    ]
    bridge = found["/dev/serial/by-id/usb-Silicon_Labs_CP2102_0001-if00-port0"]
    assert (bridge.kind, bridge.config_lines()) == ("", [])  # a bare CP2102 could be anything
    assert "kind unknown" in bridge.description
    cul = found["/dev/ttyACM0"]  # no by-id link: listed by its tty
    assert (cul.usb_id, cul.kind) == ("03eb:204b", "cul")
    (sdr,) = [f for f in found.values() if f.kind == "rtlwmbus"]
    assert sdr.usb_id == "0bda:2838" and "rtl_wmbus" in sdr.device
    assert len(found) == 4


def test_empty_tree(tmp_path: Path) -> None:
    assert scan(tmp_path) == []


async def test_the_command_opens_no_port(tmp_path: Path) -> None:
    root = fake_tree(tmp_path)
    proc = await asyncio.create_subprocess_exec(
        *_gatewayd(),
        "detect",
        "--root",
        str(root),
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    # Opening one of the FIFO "ports" for reading would block until a writer comes: a detect
    # that opened a port would hang here, and one that still holds it open would let a
    # non-blocking writer in.
    async with asyncio.timeout(20):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert {d["kind"] for d in lines} == {"im871a", "cul", "rtlwmbus", ""}
    for tty in ("ttyUSB0", "ttyUSB1", "ttyACM0"):
        with pytest.raises(OSError) as exc:
            os.open(root / "dev" / tty, os.O_WRONLY | os.O_NONBLOCK)
        assert exc.value.errno == errno.ENXIO  # no reader has it open
