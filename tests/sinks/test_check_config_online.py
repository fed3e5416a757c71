"""`gatewayd check-config --online` against real parts: the radio through the daemon's own serial
code on a byte-exact pty simulator (answering, silent, absent), and a real mosquitto (right
password, wrong password, down). Each result is its own line; exit 1 for a failed online check;
no secret is printed."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from gatewayd.demo.sim import ImstSimulator
from tests.sinks.conftest import BrokerFactory, Pki

PASSWORD = "s3cret-horse-battery"


def write_config(tmp: Path, device: str, mqtt: str = "") -> Path:
    cfg = tmp / "config.toml"
    cfg.write_text(
        f'[gateway]\nid = "gw1"\nstate_dir = "{tmp / "state"}"\n'
        f'[radio]\nkind = "im871a"\ndevice = "{device}"\nmode = "c1"\n{mqtt}'
    )
    return cfg


def mqtt_section(port: int, user: str | None = None) -> str:
    text = f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\n'
    return text + (f'username = "{user}"\n' if user else "")


def credentials(tmp: Path, password: str) -> Path:
    d = tmp / "credentials"
    d.mkdir(exist_ok=True)
    (d / "mqtt-password").write_text(password + "\n")
    (d / "mqtt-password").chmod(0o600)
    return d


async def check_online(cfg: Path, creds: Path | None = None) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    if creds is not None:
        env["CREDENTIALS_DIRECTORY"] = str(creds)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gatewayd",
        "check-config",
        "--online",
        "--config",
        str(cfg),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_answering_module_and_good_credentials_pass(
    tmp_path: Path, broker_factory: BrokerFactory
) -> None:
    broker = broker_factory(auth=("gw", PASSWORD))
    async with ImstSimulator([], rate=0) as sim:
        cfg = write_config(tmp_path, sim.device_path, mqtt_section(broker.port, "gw"))
        code, out, err = await check_online(cfg, credentials(tmp_path, PASSWORD))
        # the module really received the configuration the daemon sends (C1 = link mode 0x07)
        assert sim.mode == "c1"
        assert bytes.fromhex("A5010100") in sim.commands  # ping
    assert code == 0, err
    radio_lines = [x for x in out.splitlines() if "online: radio im871a" in x]
    assert len(radio_lines) == 1 and "answered" in radio_lines[0]
    broker_lines = [x for x in out.splitlines() if "online: MQTT broker" in x]
    assert len(broker_lines) == 1
    assert f"127.0.0.1:{broker.port} (as gw, no TLS): connected" in broker_lines[0]
    assert PASSWORD not in out + err
    # mosquitto saw a client of its own id, not the service's (a running service keeps its session)
    assert "gatewayd-gw1-check" in broker.log.read_text()


def session_present(port: int, client_id: str, v5: bool) -> bool:
    """Connect as client_id asking to resume its session (3.1.1 clean session 0, MQTT 5 clean
    start 0) and return the CONNACK's session-present flag: whether the broker kept one."""

    def field(b: bytes) -> bytes:
        return len(b).to_bytes(2, "big") + b

    variable = field(b"MQTT") + bytes([5 if v5 else 4, 0x00]) + (60).to_bytes(2, "big")
    body = variable + (b"\x00" if v5 else b"") + field(client_id.encode())  # no properties
    assert len(body) < 128  # one-byte remaining length
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(bytes([0x10, len(body)]) + body)
        head = s.recv(4)
        assert head[0] == 0x20 and head[3] == 0, head  # CONNACK, accepted
        s.sendall(b"\xe0\x00")  # DISCONNECT
    return bool(head[2] & 0x01)


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
async def test_the_check_leaves_no_session_on_the_broker(
    tmp_path: Path, broker_factory: BrokerFactory, protocol: str
) -> None:
    broker = broker_factory()
    v5 = protocol == "5"
    async with ImstSimulator([], rate=0) as sim:
        mqtt = mqtt_section(broker.port) + f'protocol = "{protocol}"\n'
        code, _out, err = await check_online(write_config(tmp_path, sim.device_path, mqtt))
    assert code == 0, err
    assert "gatewayd-gw1-check" in broker.log.read_text()  # the check did connect under its id
    assert not session_present(broker.port, "gatewayd-gw1-check", v5)
    # the probe itself can see a kept session: its own (3.1.1: clean session 0) is still there
    assert session_present(broker.port, "probe-keeps-its-session", False) is False
    assert session_present(broker.port, "probe-keeps-its-session", False) is True


async def test_wrong_password_and_broker_down_are_refused_with_a_line(
    tmp_path: Path, broker_factory: BrokerFactory
) -> None:
    broker = broker_factory(auth=("gw", PASSWORD))
    async with ImstSimulator([], rate=0) as sim:
        cfg = write_config(tmp_path, sim.device_path, mqtt_section(broker.port, "gw"))
        code, out, err = await check_online(cfg, credentials(tmp_path, "wrong-" + PASSWORD))
        assert code == 1
        assert "online: radio im871a" in out  # the radio still passed, on its own line
        refused = [x for x in err.splitlines() if "MQTT broker" in x]
        assert len(refused) == 1 and refused[0].startswith("gatewayd: error: MQTT broker")
        assert "refused the connection" in refused[0]
        assert "(check [mqtt] username and password)" in refused[0]
        assert "1 online check(s) failed" in err
        assert PASSWORD not in out + err

        # A port of our own, bound but not listening: a connection to it is refused, and no
        # other test run on this machine can start a broker there meanwhile.
        with socket.socket() as held:
            held.bind(("127.0.0.1", 0))
            down = held.getsockname()[1]
            cfg = write_config(tmp_path, sim.device_path, mqtt_section(down))
            code, out, err = await check_online(cfg)
    assert code == 1
    assert f"MQTT broker 127.0.0.1:{down} (without a user name, no TLS): connection refused" in err
    assert "Traceback" not in err


async def test_missing_device_and_silent_module_fail_the_radio_line(tmp_path: Path) -> None:
    absent = tmp_path / "ttyABSENT"
    code, out, err = await check_online(write_config(tmp_path, str(absent)))
    assert code == 1
    assert ": ok:" in out and "online: radio" not in out  # the config itself is fine
    assert f"radio im871a on {absent}: cannot open {absent}: no such device" in err
    assert "1 online check(s) failed" in err

    async with ImstSimulator([], rate=0) as sim:
        sim.answering = False  # the port opens, the module never replies
        code, out, err = await check_online(write_config(tmp_path, sim.device_path))
        assert sim.mode is None  # it was never configured
    assert code == 1
    assert "online: radio" not in out
    line = [x for x in err.splitlines() if "radio im871a" in x]
    assert len(line) == 1 and "no answer" in line[0], err
    assert "Traceback" not in err


async def test_tls_with_the_right_ca_connects_and_with_another_ca_is_refused(
    tmp_path: Path, broker_factory: BrokerFactory, pki: Pki
) -> None:
    broker = broker_factory(tls="server")
    async with ImstSimulator([], rate=0) as sim:
        for ca, passes in ((pki.ca, True), (pki.other_ca, False)):
            tls = f'tls = true\nca_file = "{ca}"\n'
            cfg = write_config(tmp_path, sim.device_path, mqtt_section(broker.port) + tls)
            code, out, err = await check_online(cfg)
            where = f"MQTT broker 127.0.0.1:{broker.port} (without a user name, TLS)"
            if passes:
                assert code == 0, err
                assert f"online: {where}: connected" in out
            else:
                assert code == 1
                assert f"{where}: TLS certificate of 127.0.0.1:{broker.port} not accepted" in err


async def test_every_receiver_gets_its_own_line(tmp_path: Path) -> None:
    absent = tmp_path / "ttyGONE"
    async with ImstSimulator([], rate=0) as sim:
        cfg = tmp_path / "config.toml"
        cfg.write_text(
            f'[gateway]\nid = "gw1"\nstate_dir = "{tmp_path / "state"}"\n'
            f'[[radios]]\nkind = "im871a"\ndevice = "{sim.device_path}"\nname = "north"\n'
            f'[[radios]]\nkind = "im871a"\ndevice = "{absent}"\nname = "south"\n'
        )
        code, out, err = await check_online(cfg)
        assert sim.mode == "c1"
    assert code == 1
    assert f"online: radio im871a on {sim.device_path} (north): answered" in out
    assert f"radio im871a on {absent} (south): cannot open {absent}: no such device" in err
    assert "1 online check(s) failed" in err
