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
import ipaddress
import logging
import time
from collections.abc import Iterable

from gatewayd.radios.base import Lifecycle, ListenMode, RadioFrame, RadioLost
from gatewayd.radios.delivery import FrameSink, Reception
from gatewayd.radios.lines import LineSplitter
from gatewayd.radios.replay import parse_line as parse_replay_line
from gatewayd.radios.rtlwmbus import ALGORITHM_PREFIXES, MODES, RtlWmbusFramer
from gatewayd.wmbus.errors import FrameError
from gatewayd.wmbus.link import FrameFormat

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.0/8", "::1/128")

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
    """A listening socket; run() delivers what the allowed remote receivers send."""

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
        self._rx = Reception(self.counters)
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Transport] = set()

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.device}"

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(lambda: _Receiver(self), self.host, self.port)
        except OSError as exc:
            raise RadioLost(f"{self.name}: cannot listen: {exc.strerror or exc}") from exc
        allowed = ", ".join(str(n) for n in self.allow) or "nobody"
        self.info = {"listening": self.device, "allowed": allowed}

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for client in list(self._clients):
            client.close()
        self._rx.close()

    async def run(self, deliver: FrameSink) -> None:
        """Every telegram line's frame to `deliver`, in the read callback that split it."""
        await self._rx.run(deliver)

    def take_received(self) -> list[RadioFrame]:
        return self._rx.take_held()

    # ---- connections ----

    def _allowed(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", maxsplit=1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.allow)

    def _accept(self, receiver: _Receiver, transport: asyncio.Transport) -> bool:
        peer = transport.get_extra_info("peername") or ("?", 0)
        address = receiver.address = str(peer[0])
        if not self._allowed(address):
            self._refuse(transport, "refused_not_allowed", f"{address} is not on the allow-list")
            return False
        if len(self._clients) >= self.max_connections:
            self._refuse(transport, "refused_too_many", f"{address}: {self.max_connections} open")
            return False
        self._clients.add(transport)
        self.counters["connections"] += 1
        log.info("%s: receiver %s connected", self.name, address)
        return True

    def _gone(self, transport: asyncio.Transport, address: str) -> None:
        self._clients.discard(transport)
        log.info("%s: receiver %s disconnected", self.name, address)

    def _refuse(self, transport: asyncio.Transport, counter: str, why: str) -> None:
        first = not self.counters[counter]
        self.counters[counter] += 1
        log.log(logging.WARNING if first else logging.DEBUG, "%s: refused %s", self.name, why)
        transport.close()

    def _line(self, line: str, address: str) -> None:
        frame = self.parse(line, address)
        if frame is not None:
            self._rx.deliver(frame)

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


class _Receiver(asyncio.Protocol):
    """One remote receiver's connection: its lines split and parsed as they are read."""

    def __init__(self, radio: TcpRadio) -> None:
        self.radio = radio
        self.address = "?"
        self.transport: asyncio.Transport | None = None
        self.lines = LineSplitter(radio.max_line)
        self.lines.counters = radio.counters

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if self.radio._accept(self, transport):
            self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.transport is None:
            return
        try:
            for line in self.lines.feed(data):
                self.radio._line(line, self.address)
        except Exception as exc:  # a bug, or what `deliver` raised: run() raises it
            self.radio._rx.end(exc)
            self.transport.close()

    def eof_received(self) -> bool:
        if self.transport is not None:
            try:
                for line in self.lines.flush():
                    self.radio._line(line, self.address)
            except Exception as exc:
                self.radio._rx.end(exc)
        return False  # close

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.radio._gone(self.transport, self.address)
            self.transport = None
