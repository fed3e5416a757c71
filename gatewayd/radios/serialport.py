"""The one place that opens a serial port (pyserial-asyncio-fast).

Only the device the configuration names is opened; nothing here scans or probes other ports.
`/dev/serial/by-id/...` and other symlinks are accepted and resolved for the log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os

import serial
import serial_asyncio_fast

from gatewayd.radios.base import RadioLost

CLOSE_TIMEOUT_S = 2.0


def describe_port(device: str) -> str:
    """`device`, plus the tty it points at when it is a symlink (as /dev/serial/by-id/... are)."""
    real = os.path.realpath(device)
    return device if real == device else f"{device} -> {real}"


async def open_serial(
    device: str, baudrate: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open `device` 8N1 without flow control; RadioLost naming the port when that fails.

    A missing or busy port is a RadioLost, not a configuration error: a USB module may be
    unplugged at boot and appear later, and the supervisor retries.
    """
    if not os.path.exists(device):
        raise RadioLost(f"cannot open {device}: no such device")
    try:
        reader, writer = await serial_asyncio_fast.open_serial_connection(
            url=device,
            baudrate=baudrate,
            bytesize=serial.EIGHTBITS,
            parity=serial.PARITY_NONE,
            stopbits=serial.STOPBITS_ONE,
            xonxoff=False,
            rtscts=False,
            exclusive=True,
        )
    except (serial.SerialException, OSError, ValueError) as exc:
        if getattr(exc, "errno", None) in (errno.EAGAIN, errno.EWOULDBLOCK):
            raise RadioLost(
                f"{describe_port(device)} is in use by another process (the gatewayd service?): "
                "listen through the service instead (gatewayd listen, without --radio), or stop "
                "it first (sudo systemctl stop gatewayd)"
            ) from exc
        raise RadioLost(f"cannot open {describe_port(device)}: {exc}") from exc
    return reader, writer


async def close_serial(writer: asyncio.StreamWriter) -> None:
    """Close the port; never raise and never hang (the device may already be gone)."""
    writer.close()
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await writer.wait_closed()


def is_port_error(exc: BaseException) -> bool:
    """Errors that mean the port went away (read or write on an unplugged device)."""
    return isinstance(exc, serial.SerialException | OSError | ConnectionError)
