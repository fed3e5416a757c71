"""Network receivers: telegram lines from remote receivers over TCP (`kind = "tcp"`).

device = "HOST:PORT" to listen on ("[::1]:4000" for IPv6). Each connection sends text lines in
any form the replay kind reads (hex, hex;RSSI, JSON) or rtl_wmbus output lines, so an ESPHome
wM-Bus receiver or `rtl_wmbus | nc gateway 4000` on another host can feed the gateway.

Only addresses on the allow-list may connect (default: loopback only); at most
`max_connections` at once; a line longer than `max_line` is dropped. Every frame is labelled
with the address it came from (`radio = "tcp:<address>"`). Nothing is ever sent back.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ipaddress
import logging
import time
from collections.abc import AsyncIterator, Iterable

from gatewayd.radios.base import Lifecycle, ListenMode, RadioFrame, RadioLost
from gatewayd.radios.lines import LineSplitter
from gatewayd.radios.replay import parse_line as parse_replay_line
from gatewayd.radios.rtlwmbus import ALGORITHM_PREFIXES, MODES, RtlWmbusFramer
from gatewayd.tasks import cancel_and_wait
from gatewayd.wmbus.errors import FrameError
from gatewayd.wmbus.link import FrameFormat

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.0/8", "::1/128")
QUEUE_MAX = 1000
READ_SIZE = 4096

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_host_port(device: str) -> tuple[str, int]:
    """ "HOST:PORT" or "[V6]:PORT" -> (host, port); ValueError naming what is wrong."""
    host, sep, port = device.rpartition(":")
    if not sep or not host:
        raise ValueError(f"device must be HOST:PORT to listen on, got {device!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"port must be 1-65535, got {port!r}")
    return host, int(port)


def parse_allow(allow: Iterable[str]) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(a, strict=False) for a in allow)
    except ValueError as exc:
        raise ValueError(f"allow: {exc}") from None


class TcpRadio(Lifecycle):
    """A listening socket; `frames()` yields what the allowed remote receivers send."""

    kind = "tcp"

    def __init__(
        self,
        device: str,
        mode: ListenMode,
        *,
        allow: Iterable[str] = LOOPBACK,
        max_connections: int = 8,
        max_line: int = 1024,
    ) -> None:
        self.host, self.port = parse_host_port(device)
        if max_connections < 1 or max_line < 32:
            raise ValueError("max_connections must be >= 1 and max_line >= 32")
        self.device = device
        self.mode = mode
        self.allow = parse_allow(allow)
        self.max_connections = max_connections
        self.max_line = max_line
        self.counters: collections.Counter[str] = collections.Counter()
        self.info: dict[str, str] = {}
        self._rtl = RtlWmbusFramer()
        self._rtl.counters = self.counters
        self._queue: asyncio.Queue[RadioFrame] = asyncio.Queue(QUEUE_MAX)
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.device}"

    async def open(self) -> None:
        try:
            self._server = await asyncio.start_server(self._accept, self.host, self.port)
        except OSError as exc:
            raise RadioLost(f"{self.name}: cannot listen: {exc.strerror or exc}") from exc
        allowed = ", ".join(str(n) for n in self.allow) or "nobody"
        self.info = {"listening": self.device, "allowed": allowed}

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        await cancel_and_wait(*self._clients)

    async def frames(self) -> AsyncIterator[RadioFrame]:
        while True:
            yield await self._queue.get()

    # ---- connections ----

    def _allowed(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", maxsplit=1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.allow)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        address = str(peer[0])
        if not self._allowed(address):
            self._refuse(writer, "refused_not_allowed", f"{address} is not on the allow-list")
            return
        if len(self._clients) >= self.max_connections:
            self._refuse(writer, "refused_too_many", f"{address}: {self.max_connections} open")
            return
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        self.counters["connections"] += 1
        log.info("%s: receiver %s connected", self.name, address)
        try:
            await self._read(reader, address)
        finally:
            self._clients.discard(task)
            writer.close()
            log.info("%s: receiver %s disconnected", self.name, address)

    def _refuse(self, writer: asyncio.StreamWriter, counter: str, why: str) -> None:
        first = not self.counters[counter]
        self.counters[counter] += 1
        log.log(logging.WARNING if first else logging.DEBUG, "%s: refused %s", self.name, why)
        writer.close()

    async def _read(self, reader: asyncio.StreamReader, address: str) -> None:
        lines = LineSplitter(self.max_line)
        lines.counters = self.counters
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(READ_SIZE):
                for line in lines.feed(chunk):
                    self._line(line, address)
            for line in lines.flush():
                self._line(line, address)

    def _line(self, line: str, address: str) -> None:
        frame = self.parse(line, address)
        if frame is None:
            return
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.counters["frames_dropped_queue_full"] += 1

    def parse(self, line: str, address: str) -> RadioFrame | None:
        """One line from `address`: an rtl_wmbus line or a replay line; None when it is not one
        (counted)."""
        first = line.split(";", 1)[0]
        source = f"{self.kind}:{address}"
        if first in MODES or first in ALGORITHM_PREFIXES:
            rtl = self._rtl.parse(line)
            if rtl is None:
                return None
            return RadioFrame(
                rtl.frame, None, rtl.link_mode, FrameFormat.CLEAN, time.time(), source
            )
        try:
            t = parse_replay_line(line)
        except FrameError:
            self.counters["bad_lines"] += 1
            return None
        if t is None:
            return None
        self.counters["telegrams"] += 1
        self.counters["bad_rssi"] += t.rssi_rejected
        return RadioFrame(
            t.frame, t.rssi_dbm, self.mode.link_mode, t.frame_format, time.time(), source
        )
