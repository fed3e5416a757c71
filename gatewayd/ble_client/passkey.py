"""The client's BlueZ agent for `gatewayd ble read --pair`: the passkey the gateway prints is
typed here, as a phone user types it (KeyboardOnly: passkey entry, MITM-protected)."""

# No `from __future__ import annotations`: dbus-fast reads `-> None` as the None object.
import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable

from dbus_fast import BusType, DBusError
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusObjectPath, DBusStr, DBusUInt16, DBusUInt32
from dbus_fast.service import ServiceInterface, dbus_method

from gatewayd.sinks.ble.agent import AGENT_MANAGER, REJECTED, device_address
from gatewayd.sinks.ble.bluez import BLUEZ, call

CLIENT_AGENT_PATH = "/org/gatewayd/client_agent"
CANCELED = "org.bluez.Error.Canceled"

Prompt = Callable[[str], None]


async def read_line(fd: int = 0) -> str:
    """One line from a terminal or pipe without blocking the event loop; "" at end of input."""
    loop = asyncio.get_running_loop()
    got = bytearray()
    ready = asyncio.Event()

    def readable() -> None:
        ready.set()

    loop.add_reader(fd, readable)
    try:
        while b"\n" not in got:
            ready.clear()
            await ready.wait()
            chunk = os.read(fd, 64)
            if not chunk:
                break
            got += chunk
    finally:
        loop.remove_reader(fd)
    return got.decode(errors="replace").split("\n", 1)[0].strip()


def parse_passkey(text: str) -> int | None:
    digits = text.replace(" ", "")
    return int(digits) if digits.isdigit() and len(digits) <= 6 else None


class PasskeyAgent(ServiceInterface):
    """org.bluez.Agent1 on the client: asks for the passkey; refuses PIN codes."""

    def __init__(self, prompt: Prompt, stdin_fd: int = 0) -> None:
        super().__init__("org.bluez.Agent1")
        self._prompt = prompt
        self._fd = stdin_fd

    @dbus_method()
    def Release(self) -> None:
        pass

    @dbus_method()
    async def RequestPasskey(self, device: DBusObjectPath) -> DBusUInt32:
        for _ in range(3):
            self._prompt(f"passkey shown by the gateway for {device_address(device)}: ")
            line = await read_line(self._fd)
            passkey = parse_passkey(line)
            if passkey is not None:
                return passkey
            if not line:
                break
            self._prompt("six digits, please\n")
        raise DBusError(CANCELED, "no passkey typed")

    @dbus_method()
    def RequestPinCode(self, device: DBusObjectPath) -> DBusStr:
        raise DBusError(REJECTED, "LE passkey pairing only")

    @dbus_method()
    def DisplayPasskey(
        self, device: DBusObjectPath, passkey: DBusUInt32, entered: DBusUInt16
    ) -> None:
        pass

    @dbus_method()
    def RequestConfirmation(self, device: DBusObjectPath, passkey: DBusUInt32) -> None:
        raise DBusError(REJECTED, "numeric comparison is not offered by the gateway")

    @dbus_method()
    def RequestAuthorization(self, device: DBusObjectPath) -> None:
        raise DBusError(REJECTED, "no Just Works bonds from this client")

    @dbus_method()
    def AuthorizeService(self, device: DBusObjectPath, uuid: DBusStr) -> None:
        pass

    @dbus_method()
    def Cancel(self) -> None:
        self._prompt("\npairing cancelled by BlueZ\n")


@contextlib.asynccontextmanager
async def passkey_agent(prompt: Prompt, stdin_fd: int = 0) -> AsyncIterator[None]:
    """BlueZ's default agent on this machine while the block runs (KeyboardOnly)."""
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    try:
        bus.export(CLIENT_AGENT_PATH, PasskeyAgent(prompt, stdin_fd))
        await call(
            bus,
            BLUEZ,
            "/org/bluez",
            AGENT_MANAGER,
            "RegisterAgent",
            "os",
            [CLIENT_AGENT_PATH, "KeyboardOnly"],
        )
        await call(
            bus, BLUEZ, "/org/bluez", AGENT_MANAGER, "RequestDefaultAgent", "o", [CLIENT_AGENT_PATH]
        )
        yield
        with contextlib.suppress(DBusError, TimeoutError):
            await call(
                bus, BLUEZ, "/org/bluez", AGENT_MANAGER, "UnregisterAgent", "o", [CLIENT_AGENT_PATH]
            )
    finally:
        bus.disconnect()
