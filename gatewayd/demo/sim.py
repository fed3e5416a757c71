"""Byte-exact simulators of the iM871A, AMB8465 and CUL (the iU891A: sim_iu891a.py) on a pty.

Each answers the configuration commands, recognised by their literal bytes from the modules'
host protocols (not by our framers, so an encoder/decoder mistake cannot cancel out), with the
module's reply bytes, and once configured streams data indications for the clean frames it is
given. See demo/simpty.py for the pty plumbing and the common API (start/stop, unplug/replug,
send, inject, pause/resume).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import Any

from gatewayd.demo.sim_iu891a import Iu891aSimulator
from gatewayd.demo.simpty import PtySimulator
from gatewayd.radios import amb8465
from gatewayd.wmbus.crc import crc16_x25
from gatewayd.wmbus.link import FrameFormat, add_crcs

__all__ = [
    "SIMULATORS",
    "AmberSimulator",
    "CulSimulator",
    "ImstSimulator",
    "Iu891aSimulator",
    "PtySimulator",
]


class TableSimulator(PtySimulator):
    """A module whose commands are a table of literal bytes -> the literal reply."""

    @abc.abstractmethod
    def command_table(self) -> dict[bytes, bytes]:
        """Every command the module knows, with its usual reply."""

    @abc.abstractmethod
    def on_command(self, cmd: bytes, reply: bytes) -> bytes:
        """Act on a recognised command; returns the reply actually sent."""

    def handle(self, buf: bytearray) -> tuple[int, bytes] | None:
        table = self.command_table()
        for cmd, reply in table.items():
            if buf.startswith(cmd):
                return len(cmd), self.on_command(cmd, reply)
        if any(cmd.startswith(buf) for cmd in table):
            return None  # the start of a command: wait for the rest
        return 0, b""  # cannot become a command: drop a byte


# ---- IMST iM871A ----


# SET_CONFIG payload 00 02 <link mode> 30 01 00 -> our mode name
IMST_LINK_MODES: dict[int, str] = {0x03: "t1", 0x06: "c1 frame a", 0x07: "c1", 0x0A: "c1+t1"}


class ImstSimulator(TableSimulator):
    """An iM871A (module type 0x33): ping, device info, SET_CONFIG; data indications with RSSI
    and (crc=True) the HCI CRC."""

    def __init__(
        self,
        frames: Iterable[bytes] = (),
        *,
        firmware: int = 0x14,
        crc: bool = True,
        module_type: int = 0x33,
        **kwargs: Any,
    ) -> None:
        super().__init__(frames, **kwargs)
        self.firmware = firmware
        self.crc = crc
        self.module_type = module_type  # 0x33 iM871A, 0x36 iM170A (169 MHz)

    def command_table(self) -> dict[bytes, bytes]:
        table = {
            bytes.fromhex("A5010100"): bytes.fromhex("A5010200"),
            bytes.fromhex("A5010F00"): bytes.fromhex("A5011008")
            + bytes([self.module_type, 0x00, self.firmware, 0x01])
            + bytes.fromhex("78563412"),
        }
        for code in IMST_LINK_MODES:
            table[bytes.fromhex("A501030600 02") + bytes([code]) + bytes.fromhex("300100")] = b""
        return table

    def on_command(self, cmd: bytes, reply: bytes) -> bytes:
        if cmd[2] == 0x03:  # SET_CONFIG
            mode = IMST_LINK_MODES[cmd[6]]
            ok = mode != "c1+t1" or self.firmware >= 0x14
            if ok:
                self.mode = mode
                self.config_count += 1
            reply = bytes.fromhex("A5010401") + (b"\x00" if ok else b"\x01")
        return reply

    def data_indication(self, frame: bytes) -> bytes:
        ctrl = 0xC2 if self.crc else 0x42  # RSSI (+ CRC) attached, endpoint RADIOLINK
        body = bytes([ctrl, 0x03, len(frame) - 1]) + frame[1:] + bytes([self.rssi_raw])
        if self.crc:
            body += crc16_x25(body).to_bytes(2, "little")
        return b"\xa5" + body


# ---- Amber AMB8465 ----


def _cs(body: bytes) -> bytes:
    x = 0
    for b in body:
        x ^= b
    return body + bytes([x])


AMBER_MODES: dict[int, str] = {0x0E: "c1", 0x08: "t1", 0x09: "c1+t1"}


class AmberSimulator(TableSimulator):
    """An AMB8465 with 120 bytes of configuration memory (non-volatile: survives replug).

    Settings written with SET_REQ take effect at the next reset or power-up; data indications
    are sent in command mode, with the RSSI byte when RSSI_Enable is active.
    """

    def __init__(
        self, frames: Iterable[bytes] = (), *, rssi_enabled: bool = True, **kwargs: Any
    ) -> None:
        self.memory = bytearray(0x78)
        self.memory[amb8465.UART_CMD_OUT_ENABLE] = 1
        self.memory[amb8465.RSSI_ENABLE] = int(rssi_enabled)
        self.active = bytes(self.memory)
        super().__init__(frames, **kwargs)

    def power_up(self) -> None:
        super().power_up()
        self.active = bytes(self.memory)

    def command_table(self) -> dict[bytes, bytes]:
        table = {
            bytes.fromhex("FF0A02008077"): _cs(bytes.fromhex("FF8A7A0078") + bytes(self.memory)),
            bytes.fromhex("FF0500FA"): _cs(bytes.fromhex("FF850100")),
        }
        for code in AMBER_MODES:
            table[_cs(bytes([0xFF, 0x04, 0x01, code]))] = _cs(bytes.fromhex("FF840100"))
        for address in (amb8465.UART_CMD_OUT_ENABLE, amb8465.RSSI_ENABLE):
            for value in (0, 1):
                table[_cs(bytes([0xFF, 0x09, 0x03, address, 0x01, value]))] = _cs(
                    bytes.fromhex("FF890100")
                )
        return table

    def on_command(self, cmd: bytes, reply: bytes) -> bytes:
        if cmd[1] == 0x04:
            self.mode = AMBER_MODES[cmd[3]]
            self.config_count += 1
        elif cmd[1] == 0x09:
            self.memory[cmd[3]] = cmd[5]
        elif cmd[1] == 0x05:
            self._spawn(self._reset_after_reply())
        return reply

    async def _reset_after_reply(self) -> None:
        async with self._write_lock:  # the confirmation goes out first
            self.power_up()
            self._update_streaming()

    def data_indication(self, frame: bytes) -> bytes:
        payload = frame[1:]
        if self.active[amb8465.RSSI_ENABLE]:
            payload += bytes([self.rssi_raw])
        return _cs(bytes([0xFF, 0x03, len(payload)]) + payload)


# ---- CUL / culfw ----


# culfw receive commands -> (our mode name, the reply line)
CUL_MODES: dict[str, tuple[str, str]] = {
    "brc": ("c1", "CMODE"),
    "brt": ("t1", "TMODE"),
    "brs": ("s1", "SMODE"),
}


class CulSimulator(PtySimulator):
    """A nanoCUL with culfw: `V`, `brc`/`brt`/`brs`, `X21`; telegram lines with CRCs.

    frame_format: how C1 telegrams are reported (B -> `bY` lines, A -> `b`); T1 is always A.
    c_mode=False: a firmware without C mode (a-culfw, culfw before 2018), which answers `brc`
    with "OFF".
    """

    VERSION = "V 1.67 nanoCUL868"

    def __init__(
        self,
        frames: Iterable[bytes] = (),
        *,
        frame_format: FrameFormat = FrameFormat.B,
        lqi: int = 0x2A,
        rssi_raw: int = 0xC4,
        c_mode: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(frames, rssi_raw=rssi_raw, **kwargs)
        self.c_mode = c_mode
        self.frame_format = frame_format
        self.lqi = lqi
        self.report_rssi = False

    def power_up(self) -> None:
        super().power_up()
        self.report_rssi = False

    def handle(self, buf: bytearray) -> tuple[int, bytes] | None:
        end = buf.find(b"\n")
        if end < 0:
            return None if len(buf) < 64 else (0, b"")
        line = buf[:end].decode("ascii", "replace").strip("\r\n ")
        if line == "V":
            reply = self.VERSION
        elif line == "brc" and not self.c_mode:
            reply = "OFF"
        elif line in CUL_MODES:
            self.mode, reply = CUL_MODES[line]
            self.config_count += 1
        elif line in ("X21", "X01"):
            self.report_rssi, reply = line == "X21", ""
        else:
            reply = "? (" + line + " is unknown)" if line else ""
        return end + 1, (reply + "\r\n").encode() if reply else b""

    def data_indication(self, frame: bytes) -> bytes:
        fmt = self.frame_format if self.mode == "c1" else FrameFormat.A
        prefix = "bY" if fmt is FrameFormat.B else "b"
        text = prefix + add_crcs(frame, fmt).hex().upper()
        if self.report_rssi:
            text += f"{self.lqi:02X}{self.rssi_raw:02X}"
        return (text + "\r\n").encode()


SIMULATORS: dict[str, type[PtySimulator]] = {
    "im871a": ImstSimulator,
    "iu891a": Iu891aSimulator,
    "amb8465": AmberSimulator,
    "cul": CulSimulator,
}
