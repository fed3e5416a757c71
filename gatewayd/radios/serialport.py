"""The one place that opens a serial port (pyserial-asyncio-fast).

Only the device the configuration names is opened; nothing here scans or probes other ports.
`/dev/serial/by-id/...` and other symlinks are accepted and resolved for the log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import os
from collections.abc import Callable

import serial
import serial_asyncio_fast

from gatewayd.radios.base import RadioLost

CLOSE_TIMEOUT_S = 2.0
READ_SIZE = 4096


def describe_port(device: str) -> str:
    """`device`, plus the tty it points at when it is a symlink (as /dev/serial/by-id/... are)."""
    real = os.path.realpath(device)
    return device if real == device else f"{device} -> {real}"


class _Transport(serial_asyncio_fast.SerialTransport):
    """pyserial-asyncio-fast's transport, each read one os.read() of what the port holds:
    pyserial's read() adds a select() and its timeout bookkeeping to every read (~2 us)."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, protocol: asyncio.Protocol, ser: serial.Serial
    ) -> None:
        super().__init__(loop, protocol, ser)
        self._fd = ser.fileno()

    def _read_ready(self) -> None:
        try:
            data = os.read(self._fd, READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # as pyserial words it (an unplugged USB adapter: EIO)
            self._close(exc=serial.SerialException(f"read failed: {exc}"))
            return
        if not data:
            self._close(
                exc=serial.SerialException(
                    "device reports readiness to read but returned no data (device "
                    "disconnected or multiple access on port?)"
                )
            )
            return
        self._protocol.data_received(data)


class SerialPort(asyncio.Protocol):
    """An open port: each read to `on_data` in the transport's read callback, `on_lost` once
    when the port closes under us; writes with flow control."""

    def __init__(
        self, on_data: Callable[[bytes], None], on_lost: Callable[[Exception | None], None]
    ) -> None:
        self.data_received = on_data  # type: ignore[method-assign,assignment]  # no call between
        self._on_lost = on_lost
        self.transport: serial_asyncio_fast.SerialTransport | None = None
        self._closing = False
        self._closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._can_write: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, serial_asyncio_fast.SerialTransport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closed.done():
            self._closed.set_result(None)
        self.resume_writing()
        if not self._closing:
            self._on_lost(exc)

    def pause_writing(self) -> None:
        if self._can_write is None:
            self._can_write = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._can_write is not None and not self._can_write.done():
            self._can_write.set_result(None)
        self._can_write = None

    async def write(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("port closed")
        self.transport.write(data)
        if self._can_write is not None:
            await self._can_write

    def stop_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    async def close(self) -> None:
        """Close the port; never raise and never hang (the device may already be gone)."""
        self._closing = True
        if self.transport is None:
            return
        self.transport.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await asyncio.shield(self._closed)


async def open_serial(
    device: str,
    baudrate: int,
    on_data: Callable[[bytes], None],
    on_lost: Callable[[Exception | None], None],
) -> SerialPort:
    """Open `device` 8N1 without flow control; RadioLost naming the port when that fails.

    A missing or busy port is a RadioLost, not a configuration error: a USB module may be
    unplugged at boot and appear later, and the supervisor retries.
    """
    if not os.path.exists(device):
        raise RadioLost(f"cannot open {device}: no such device")
    port = SerialPort(on_data, on_lost)
    options = {
        "baudrate": baudrate,
        "bytesize": serial.EIGHTBITS,
        "parity": serial.PARITY_NONE,
        "stopbits": serial.STOPBITS_ONE,
        "xonxoff": False,
        "rtscts": False,
        "exclusive": True,
    }
    loop = asyncio.get_running_loop()
    # shielded: cancelled, the open goes on in its thread, and what it opens is closed
    opening = loop.run_in_executor(None, functools.partial(serial.Serial, device, **options))
    try:
        ser = await asyncio.shield(opening)
    except (serial.SerialException, OSError, ValueError) as exc:
        if getattr(exc, "errno", None) in (errno.EAGAIN, errno.EWOULDBLOCK):
            raise RadioLost(
                f"{describe_port(device)} is in use by another process (the gatewayd service?): "
                "listen through the service instead (gatewayd listen, without --radio), or stop "
                "it first (sudo systemctl stop gatewayd)"
            ) from exc
        raise RadioLost(f"cannot open {describe_port(device)}: {exc}") from exc
    except BaseException:  # cancelled while the thread opens the port, or once it has
        _close_when_opened(opening)
        if not opening.done():
            # the cancellation goes on once the port is closed: a radio restarted on the same
            # device at once must not find it busy
            await asyncio.wait([opening])
        raise
    try:
        # connection_made, and reading, follow in the next iteration
        port.transport = _Transport(loop, port, ser)
    except BaseException:
        _close_quietly(ser)
        raise
    return port


def _close_when_opened(opening: asyncio.Future[serial.Serial]) -> None:
    """Close the port `opening` opens: now if it is done, else when it is."""

    def close(f: asyncio.Future[serial.Serial]) -> None:
        if not f.cancelled() and f.exception() is None:
            _close_quietly(f.result())

    if opening.done():
        close(opening)
    else:
        opening.add_done_callback(close)  # before any waiter's: closed when the waiter wakes


def _close_quietly(ser: serial.Serial) -> None:
    with contextlib.suppress(OSError, serial.SerialException):
        ser.close()


def read_waiting(port: SerialPort) -> bytes:
    """What the port holds now, read at once (the loop may not have seen it yet)."""
    transport = port.transport
    if transport is None or transport.is_closing() or transport.serial is None:
        return b""
    ser = transport.serial
    waiting = ser.in_waiting
    return bytes(ser.read(waiting)) if waiting else b""


def is_port_error(exc: BaseException) -> bool:
    """Errors that mean the port went away (read or write on an unplugged device)."""
    return isinstance(exc, serial.SerialException | OSError | ConnectionError)
