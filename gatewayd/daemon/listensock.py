"""The daemon's listen socket: the raw frames it hears, for `gatewayd listen` beside the service.

A local stream socket (AF_UNIX), mode 0660: the service's user and group (gatewayd) and root
may connect; nobody else. It is read-only: what a client sends is read and thrown away. It
carries what the radio heard, as the radio heard it (encrypted payloads stay encrypted), and
never a key or a decrypted value. One JSON object per line:

    {"listen": 1, "gateway": "block-7", "radios": ["im871a:/dev/wmbus0"]}       first line
    {"hex": "2A44…", "rssi_dbm": -71.0, "time": 1764632713.5, "radio": "im871a:/dev/wmbus0",
     "heard_by": [], "link_mode": "c1", "frame_format": "clean"}                  one per frame
    {"skipped": 12}          before a frame, when this client read too slowly for 12 frames

The radio path never waits for a client: each frame is encoded once and put on every client's
bounded queue; a full queue skips the frame for that client (counted). With no client
connected the pipeline's tap is unset, so frames cost nothing here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import struct
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gatewayd.config.load import SUN_PATH_MAX
from gatewayd.daemon.logs import fields
from gatewayd.tasks import cancel_and_wait

if TYPE_CHECKING:  # the decode side is imported after READY=1
    from gatewayd.config.schema import Config
    from gatewayd.radios.base import RadioFrame

log = logging.getLogger(__name__)

SOCKET_NAME = "listen.sock"
RUN_DIR = Path("/run/gatewayd")  # the unit's RuntimeDirectory=gatewayd
SOCKET_MODE = 0o660
QUEUE_FRAMES = 256  # per client: ~2 minutes of a busy site
MAX_CLIENTS = 8
PROTOCOL = 1

FrameTap = Callable[["RadioFrame"], None]


def socket_path(setting: str, state_dir: Path, env: Mapping[str, str] = os.environ) -> Path | None:
    """Where the daemon puts its socket: `[gateway] listen_socket`; "auto" is listen.sock in
    the runtime directory systemd gives the unit ($RUNTIME_DIRECTORY), else in the state
    directory; "" is no socket."""
    if setting == "":
        return None
    if setting != "auto":
        return Path(setting)
    runtime = env.get("RUNTIME_DIRECTORY", "").split(":")[0]
    return Path(runtime or state_dir) / SOCKET_NAME


def candidate_paths(setting: str, state_dir: Path) -> list[Path]:
    """Where `gatewayd listen` looks for a running daemon's socket, in order."""
    if setting == "":
        return []
    if setting != "auto":
        return [Path(setting)]
    return list(dict.fromkeys([RUN_DIR / SOCKET_NAME, state_dir / SOCKET_NAME]))


def encode_frame(rf: RadioFrame) -> bytes:
    """One frame's line: made once, whatever the number of clients."""
    import orjson  # noqa: PLC0415 (with a client only: orjson's import is not cheap at start)

    return orjson.dumps(
        {
            "hex": rf.frame.hex().upper(),
            "rssi_dbm": rf.rssi_dbm,
            "time": rf.received_at,
            "radio": rf.radio,
            "heard_by": list(rf.heard_by),
            "link_mode": rf.link_mode.value,
            "frame_format": rf.frame_format.value,
        },
        option=orjson.OPT_APPEND_NEWLINE,
    )


class _Client:
    def __init__(self, uid: int | None, queue_frames: int) -> None:
        self.uid = uid
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(queue_frames)
        self.skipped = 0  # since the last {"skipped": n} line
        self.skipped_total = 0
        self.sent = 0


class ListenServer:
    """`await server.start()` ... `await server.close()`; `attach(tap)` is called with the tap
    when the first client connects and with None when the last one leaves."""

    def __init__(
        self,
        path: Path,
        *,
        attach: Callable[[FrameTap | None], None],
        gateway: str,
        radios: Sequence[str],
        queue_frames: int = QUEUE_FRAMES,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.path = path
        self.attach = attach
        self.queue_frames = queue_frames
        self.max_clients = max_clients
        self.skipped = 0  # frames not sent to a slow client, all clients together
        self.refused = 0
        self._hello = {"listen": PROTOCOL, "gateway": gateway, "radios": list(radios)}
        self._clients: set[_Client] = set()
        self._server: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def clients(self) -> int:
        return len(self._clients)

    async def start(self) -> bool:
        """Bind and listen; False (one warning, the daemon carries on) when it cannot."""
        try:
            sock = self._bind()
            self._server = await asyncio.start_unix_server(self._serve, sock=sock)
        except OSError as exc:
            log.warning(
                "listen socket %s: cannot create it (%s); `gatewayd listen` cannot connect "
                'to this daemon (set [gateway] listen_socket to a writable path, or "" for none)',
                self.path,
                exc.strerror or exc,
                extra=fields("listen_socket_failed"),
            )
            return False
        log.info("listen socket %s", self.path, extra=fields("listen_socket"))
        return True

    def _bind(self) -> socket.socket:
        if len(os.fsencode(self.path)) > SUN_PATH_MAX:
            raise OSError(0, f"the path is longer than {SUN_PATH_MAX} bytes")
        self._remove_stale()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            old = os.umask(0o177)  # created 0600, then opened to the group: never wider
            try:
                sock.bind(str(self.path))
            finally:
                os.umask(old)
            os.chmod(self.path, SOCKET_MODE)
            sock.listen(self.max_clients)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    def _remove_stale(self) -> None:
        """A socket left by a daemon that died is removed; a live one is not taken over."""
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            raise OSError(0, "something that is not a socket is in the way")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(self.path))
        except OSError:
            os.unlink(self.path)  # nobody answers: stale
            return
        finally:
            probe.close()
        raise OSError(0, "another gatewayd is serving it")

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self._server = None
        self._clients.clear()
        self.attach(None)

    # ---- the radio path: O(clients), never awaits

    def tap(self, rf: RadioFrame) -> None:
        line = encode_frame(rf)
        for client in self._clients:
            try:
                client.queue.put_nowait(line)
            except asyncio.QueueFull:
                client.skipped += 1
                client.skipped_total += 1
                self.skipped += 1

    # ---- one connection

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            if len(self._clients) >= self.max_clients:
                self.refused += 1
                writer.write(b'{"error": "too many listeners connected"}\n')
                return
            client = _Client(_peer_uid(writer), self.queue_frames)
            self._clients.add(client)
            if len(self._clients) == 1:
                self.attach(self.tap)
            log.info(
                "listen: client %s connected (%d now)",
                "?" if client.uid is None else f"uid {client.uid}",
                len(self._clients),
                extra=fields("listen_client"),
            )
            try:
                await self._stream(client, reader, writer)
            finally:
                self._clients.discard(client)
                if not self._clients:
                    self.attach(None)
                skipped = (
                    f", {client.skipped_total} skipped (it read too slowly)"
                    if client.skipped_total
                    else ""
                )
                log.info(
                    "listen: client %s left after %d frames%s",
                    "?" if client.uid is None else f"uid {client.uid}",
                    client.sent,
                    skipped,
                    extra=fields("listen_client"),
                )
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            pass  # close(): end quietly (asyncio's stream callback would log a cancelled task)
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _stream(
        self, client: _Client, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        async def discard_input() -> None:
            while await reader.read(4096):  # read-only: whatever comes in is dropped
                pass

        gone = asyncio.create_task(discard_input())
        try:
            import orjson  # noqa: PLC0415

            writer.write(orjson.dumps(self._hello, option=orjson.OPT_APPEND_NEWLINE))
            await writer.drain()
            while not gone.done():
                get = asyncio.ensure_future(client.queue.get())
                await asyncio.wait({get, gone}, return_when=asyncio.FIRST_COMPLETED)
                if not get.done():
                    get.cancel()
                    break
                lines = [get.result()]
                while not client.queue.empty():  # all that waits, in one write
                    lines.append(client.queue.get_nowait())
                writer.write(b"".join(lines))
                client.sent += len(lines)
                if client.skipped and client.queue.empty():  # after the frames it did get
                    writer.write(b'{"skipped": %d}\n' % client.skipped)
                    client.skipped = 0
                await writer.drain()
        finally:
            with contextlib.suppress(ConnectionError, OSError):
                await cancel_and_wait(gone)


def _peer_uid(writer: asyncio.StreamWriter) -> int | None:
    sock = writer.get_extra_info("socket")
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (AttributeError, OSError):
        return None
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


async def start_listen_socket(
    config: Config, attach: Callable[[FrameTap | None], None], env: Mapping[str, str] = os.environ
) -> ListenServer | None:
    """The listen socket `[gateway] listen_socket` asks for; `attach(tap)` puts the frame tap
    on the pipeline when the first client connects (None when the last one leaves)."""
    path = socket_path(config.gateway.listen_socket, config.gateway.state_dir, env)
    if path is None:
        return None
    server = ListenServer(
        path,
        attach=attach,
        gateway=config.gateway.id,
        radios=[r.label for r in config.receivers],
    )
    return server if await server.start() else None
