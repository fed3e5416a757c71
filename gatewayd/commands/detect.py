"""`gatewayd detect [--root DIR]`: which radio receivers are plugged in, and the config to use.

Lists the USB serial devices (by their stable /dev/serial/by-id/ name and USB vendor:product)
and RTL-SDR dongles, says which radio kind each is known to be, and prints the [radio] lines
for it. It only reads names and sysfs attributes: it never opens a port. (To check a module
really answers, name its port: `gatewayd listen --radio KIND:DEVICE`.)

--root points it at another tree (a test's fake /dev and /sys, or a mounted image).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

# Names in /dev/serial/by-id/ come from the USB product string: these say what a stick is.
PRODUCT_NAMES: tuple[tuple[str, str, str], ...] = (
    ("im871a", "im871a", "IMST iM871A"),
    ("im170a", "", "IMST iM170A (169 MHz: not usable for C1/T1)"),
    ("iu891a", "iu891a", "IMST iU891A"),
    ("im891a", "iu891a", "IMST iM891A"),
    ("amb8465", "amb8465", "Amber AMB8465"),
    ("amb8665", "amb8465", "Amber AMB8665"),
    ("metis", "amb8465", "Amber Metis-II"),
    ("nanocul", "cul", "nanoCUL"),
    ("cul868", "cul", "CUL 868 MHz"),
    ("cul", "cul", "CUL"),
)
# USB ids that identify the receiver by themselves; generic USB-UART bridges do not.
USB_IDS: dict[str, tuple[str, str]] = {
    "03eb:204b": ("cul", "busware CUL (culfw)"),
    "10c4:87ed": ("im871a", "IMST USB-Stick for Smart Meter (an iM871A)"),
}
BRIDGES: dict[str, str] = {
    "10c4:ea60": "Silicon Labs CP210x USB-UART bridge",
    "0403:6001": "FTDI FT232 USB-UART bridge",
    "0403:6015": "FTDI FT-X USB-UART bridge",
    "1a86:7523": "QinHeng CH340 USB-UART bridge",
}
RTL_SDR_IDS = frozenset({"0bda:2838", "0bda:2832"})
RTL_PIPELINE = "| rtl_sdr -f 868.95M -s 1600000 - 2>/dev/null | rtl_wmbus"


@dataclass(frozen=True, slots=True)
class Found:
    device: str  # the name to put in config.toml (the by-id name when there is one)
    tty: str  # what it points at, e.g. /dev/ttyUSB0 ("" for an RTL-SDR)
    usb_id: str  # vendor:product, "" when unknown
    description: str
    kind: str  # "" when the kind cannot be told without opening the port

    def config_lines(self) -> list[str]:
        if not self.kind:
            return []
        return ["[radio]", f'kind = "{self.kind}"', f'device = "{self.device}"']


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", type=Path, default=Path("/"), help="look under DIR (default /)")
    p.add_argument("--json", action="store_true", help="one JSON object per device")


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def usb_id_of(root: Path, tty: str) -> tuple[str, str]:
    """(vendor:product, product string) of the USB device a tty belongs to, by sysfs."""
    node = root / "sys/class/tty" / tty / "device"
    if not node.exists():
        return "", ""
    here = node.resolve()
    sys_root = (root / "sys").resolve()
    while here != sys_root and sys_root in here.parents:
        vendor, product = _read(here / "idVendor"), _read(here / "idProduct")
        if vendor and product:
            return f"{vendor}:{product}".lower(), _read(here / "product")
        here = here.parent
    return "", ""


def identify(name: str, usb_id: str, product: str) -> tuple[str, str]:
    """(kind, description) from the by-id name, product string and USB id."""
    text = f"{name} {product}".lower().replace("-", "").replace("_", "")
    for needle, kind, description in PRODUCT_NAMES:
        if needle in text:
            return kind, description
    if usb_id in USB_IDS:
        return USB_IDS[usb_id]
    bridge = BRIDGES.get(usb_id)
    if bridge:
        return "", f"{bridge}: used by several receivers (and much else); kind unknown"
    return "", "not a known wM-Bus receiver"


def scan(root: Path) -> list[Found]:
    """Every USB serial device and RTL-SDR dongle under root. Reads names only."""
    found: list[Found] = []
    seen: set[str] = set()
    by_id = root / "dev/serial/by-id"
    links = sorted(by_id.iterdir()) if by_id.is_dir() else []
    for link in links:
        tty = os.path.basename(os.path.normpath(link.parent / os.readlink(link)))
        seen.add(tty)
        usb_id, product = usb_id_of(root, tty)
        kind, description = identify(link.name, usb_id, product)
        device = "/" + str(link.relative_to(root)).lstrip("/")
        found.append(Found(device, f"/dev/{tty}", usb_id, description, kind))
    tty_class = root / "sys/class/tty"
    for entry in sorted(tty_class.iterdir()) if tty_class.is_dir() else []:
        if entry.name in seen or not entry.name.startswith(("ttyUSB", "ttyACM")):
            continue
        usb_id, product = usb_id_of(root, entry.name)
        kind, description = identify(entry.name, usb_id, product)
        found.append(Found(f"/dev/{entry.name}", f"/dev/{entry.name}", usb_id, description, kind))
    usb = root / "sys/bus/usb/devices"
    for dev in sorted(usb.iterdir()) if usb.is_dir() else []:
        usb_id = f"{_read(dev / 'idVendor')}:{_read(dev / 'idProduct')}".lower()
        if usb_id in RTL_SDR_IDS:
            description = f"RTL-SDR dongle ({_read(dev / 'product') or 'RTL2838'})"
            found.append(Found(RTL_PIPELINE, "", usb_id, description, "rtlwmbus"))
    return found


def run(args: argparse.Namespace) -> int:
    found = scan(args.root)
    if args.json:
        for f in found:
            print(json.dumps(asdict(f) | {"config": f.config_lines()}))
        return 0
    if not found:
        print("no USB serial device or RTL-SDR dongle found")
        return 0
    for f in found:
        where = f"{f.device} -> {f.tty}" if f.tty and f.tty != f.device else f.device
        print(f"{where}  {f.usb_id or '?'}  {f.description}")
        for line in f.config_lines():
            print(f"    {line}")
    hint = "nothing was opened; to check a module answers: gatewayd listen --radio KIND:DEVICE"
    print(f"({hint})", file=sys.stderr)
    return 0
