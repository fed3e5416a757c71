"""A real Debian mosquitto per test on a free 127.0.0.1 port, and a subscriber that records.

`broker_factory(auth=..., tls=...)` starts one with a config generated in tmp_path (optionally a
password file, and a TLS listener whose server certificate comes from a test CA generated with
`cryptography`); the returned `Broker` can be stopped, killed and restarted on the same port.
`Subscriber` is an independent paho client (MQTT 5, retain-as-published, persistent session)
that records every message with its QoS and retain flag, across broker restarts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gatewayd.config.sections import MqttSettings

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------- test PKI


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed nothing here: verifying against it must fail


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer if issuer else (name, key)
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        b = b.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        b = b.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    if server:
        b = b.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
    return b.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate, path: Path) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca_key, other_key, srv_key, cli_key = _key(), _key(), _key(), _key()
    ca = _cert("gatewayd test CA", ca_key, None, ca=True)
    issuer = (ca.subject, ca_key)
    _write_key(srv_key, d / "server.key")
    _write_key(cli_key, d / "client.key")
    return Pki(
        ca=_pem(ca, d / "ca.crt"),
        server_cert=_pem(_cert("127.0.0.1", srv_key, issuer, server=True), d / "server.crt"),
        server_key=d / "server.key",
        client_cert=_pem(_cert("gatewayd-tls", cli_key, issuer), d / "client.crt"),
        client_key=d / "client.key",
        other_ca=_pem(_cert("unrelated CA", other_key, None, ca=True), d / "other-ca.crt"),
    )


# ---------------------------------------------------------------------------- broker


@dataclass
class Broker:
    """One mosquitto process; start/stop/kill/restart keep the same port, config and data."""

    dir: Path
    port: int
    conf: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.dir / "mosquitto.log"

    def settings(self, gateway: str, tmp_path: Path, **kw: Any) -> MqttSettings:
        """The MQTT sink's settings for this broker (state under tmp_path/state), reconnecting
        quickly; kw overrides any of them."""
        base: dict[str, Any] = {
            "gateway_id": gateway,
            "state_dir": tmp_path / "state",
            "host": "127.0.0.1",
            "port": self.port,
            "reconnect_min_s": 0.05,
            "reconnect_max_s": 0.5,
            "connect_timeout_s": 3.0,
        }
        return MqttSettings(**{**base, **kw})

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "broker already running"
        with (self.dir / "stderr.log").open("ab") as err:
            self.proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.conf)], stdout=err, stderr=err, start_new_session=True
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                why = self.diagnostics()
                if "Address already in use" in why:
                    raise PortTaken(f"port {self.port} was taken by another process")
                raise RuntimeError(f"mosquitto exited: {why}")
            if self._listening():
                return
            time.sleep(0.02)
        if self.proc.poll() is None and _listener_inode(self.port) is not None:
            raise PortTaken(f"port {self.port} is another process's listener")
        raise RuntimeError(f"mosquitto not listening on {self.port}: {self.diagnostics()}")

    def _listening(self) -> bool:
        """Our mosquitto holds the listening socket. A connect alone would also succeed on
        another test run's broker that took the port between free_port() and our bind."""
        assert self.proc is not None
        inode = _listener_inode(self.port)
        if inode is None:
            return False
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for fd in os.listdir(f"/proc/{self.proc.pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{self.proc.pid}/fd/{fd}") == f"socket:[{inode}]":
                        return True
        return False

    def stop(self) -> None:
        """SIGTERM: mosquitto saves its persistence (sessions, retained, queued) and exits."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        self._end(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _end(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)

    def diagnostics(self) -> str:
        logs = (self.dir / "stderr.log", self.log)
        parts = [p.read_text(errors="replace")[-2000:] for p in logs if p.exists()]
        return "\n".join(p for p in parts if p)


class PortTaken(RuntimeError):
    """Another process listens on the port free_port() gave us (other test runs share the
    machine): the factory tries another port."""


def _listener_inode(port: int) -> str | None:
    """The inode of the socket listening on 127.0.0.1:`port`, from /proc/net/tcp."""
    local = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[3] == "0A":  # 0A: LISTEN
            return fields[9]
    return None


BrokerFactory = Callable[..., Broker]


@pytest.fixture
def broker_factory(tmp_path: Path, pki: Pki) -> Iterator[BrokerFactory]:
    brokers: list[Broker] = []

    def make(
        *, auth: tuple[str, str] | None = None, tls: str | None = None, start: bool = True
    ) -> Broker:
        for _attempt in range(5):
            try:
                return _make(auth=auth, tls=tls, start=start)
            except PortTaken:
                brokers.pop().kill()
        raise RuntimeError("no free port for mosquitto after 5 tries")

    def _make(*, auth: tuple[str, str] | None, tls: str | None, start: bool) -> Broker:
        d = tmp_path / f"broker{len(brokers)}"
        shutil.rmtree(d, ignore_errors=True)  # a try whose port was taken
        (d / "data").mkdir(parents=True)
        port = free_port()
        lines = [
            f"user {getpass.getuser()}",  # as root: stay root (tmp_path is not world-readable)
            f"listener {port} 127.0.0.1",
            f"allow_anonymous {'false' if auth else 'true'}",
            "persistence true",
            f"persistence_location {d / 'data'}/",
            f"log_dest file {d / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "max_queued_messages 100000",
        ]
        if auth:
            pw = d / "passwd"
            subprocess.run(
                [MOSQUITTO_PASSWD, "-b", "-c", str(pw), auth[0], auth[1]],
                check=True,
                capture_output=True,
            )
            lines.append(f"password_file {pw}")
        if tls:
            lines += [
                f"cafile {pki.ca}",
                f"certfile {pki.server_cert}",
                f"keyfile {pki.server_key}",
                "tls_version tlsv1.2",
            ]
            if tls == "mutual":
                lines += ["require_certificate true", "use_identity_as_username true"]
        conf = d / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        b = Broker(dir=d, port=port, conf=conf)
        brokers.append(b)
        if start:
            b.start()
        return b

    yield make
    for b in brokers:
        b.kill()


@pytest.fixture
def broker(broker_factory: BrokerFactory) -> Broker:
    return broker_factory()


# ---------------------------------------------------------------------------- subscriber


@dataclass(frozen=True)
class Msg:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass
class Subscriber:
    """Records everything under `topic` (a filter) on the broker, in arrival order."""

    port: int
    topic: str = "#"
    client_id: str = "test-subscriber"
    persistent: bool = True
    username: str | None = None
    password: str | None = None
    tls: dict[str, Any] | None = None  # paho tls_set() arguments
    messages: list[Msg] = field(default_factory=list)

    def __post_init__(self) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties
        from paho.mqtt.subscribeoptions import SubscribeOptions

        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        c = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        c.reconnect_delay_set(1, 1)
        if self.username is not None:
            c.username_pw_set(self.username, self.password)
        if self.tls is not None:
            c.tls_set(**self.tls)
        opts = SubscribeOptions(qos=2, retainAsPublished=True)

        def on_connect(cl: Any, _u: Any, flags: Any, rc: Any, _p: Any) -> None:
            if not rc.is_failure and not flags.session_present:
                cl.subscribe(self.topic, options=opts)
            elif not rc.is_failure:
                self._subscribed.set()

        def on_subscribe(_c: Any, _u: Any, _mid: Any, _rcs: Any, _p: Any) -> None:
            self._subscribed.set()

        def on_message(_c: Any, _u: Any, m: Any) -> None:
            with self._lock:
                self.messages.append(Msg(m.topic, bytes(m.payload), m.qos, bool(m.retain)))

        c.on_connect = on_connect
        c.on_subscribe = on_subscribe
        c.on_message = on_message
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600 if self.persistent else 0
        c.connect("127.0.0.1", self.port, keepalive=10, clean_start=False, properties=props)
        c.loop_start()
        self._client = c
        if not self._subscribed.wait(10):
            raise RuntimeError("subscriber did not subscribe")

    def snapshot(self) -> list[Msg]:
        with self._lock:
            return list(self.messages)

    def on(self, topic: str) -> list[Msg]:
        return [m for m in self.snapshot() if m.topic == topic]

    async def wait_for(self, pred: Callable[[list[Msg]], bool], timeout: float = 10) -> list[Msg]:
        import asyncio

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = self.snapshot()
            if pred(msgs):
                return msgs
            await asyncio.sleep(0.02)
        msgs = self.snapshot()
        raise AssertionError(f"timed out; {len(msgs)} messages: {[m.topic for m in msgs][-20:]}")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def subscribe() -> Iterator[Callable[..., Subscriber]]:
    subs: list[Subscriber] = []

    def make(port: int, topic: str = "#", **kw: Any) -> Subscriber:
        s = Subscriber(port, topic, client_id=f"test-sub-{len(subs)}", **kw)
        subs.append(s)
        return s

    yield make
    for s in subs:
        s.close()
