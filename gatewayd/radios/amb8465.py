"""Amber / Würth AMB8465, AMB8665, Metis-II in command mode.

Frame: FF | CMD | LEN | payload(LEN) | CS, CS = XOR of every byte before it (0xFF included).
Replies use CMD | 0x80. A received telegram is `FF 03 LEN | C … end | RSSI | CS`: no L byte and
no DLL CRCs; with RSSI enabled LEN counts the RSSI byte, so the clean frame is (LEN-1) || C … end.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from operator import xor

from gatewayd.radios.base import ListenMode, RadioFrame, RadioLost
from gatewayd.radios.framing import StartByteFramer, Verdict
from gatewayd.radios.serialradio import SerialRadio

SOF = 0xFF
MIN_TELEGRAM = 10  # C M M A A A A A A CI
# C fields a receive-only gateway accepts in a data indication (SND_NR/IR, ACC_NR/DMD, RSP_UD).
C_FIELDS = frozenset({0x44, 0x46, 0x47, 0x48, 0x08, 0x18, 0x28, 0x38})


class Cmd(enum.IntEnum):
    DATA_REQ = 0x00
    DATA_IND = 0x03
    SET_MODE_REQ = 0x04
    RESET_REQ = 0x05
    SET_REQ = 0x09
    GET_REQ = 0x0A
    SERIALNO_REQ = 0x0B
    FWV_REQ = 0x0C
    RSSI_REQ = 0x0D
    SET_UART_SPEED = 0x10
    FACTORY_RESET_REQ = 0x11


REPLY = 0x80
# What the module may send us, and the longest payload each may carry (length-field cap): a
# confirmation carries a status byte, GET a memory dump, SERIALNO and FWV a few bytes.
MAX_PAYLOAD: dict[int, int] = (
    {Cmd.DATA_IND: 0xFF}
    | {c | REPLY: 1 for c in Cmd}
    | {Cmd.GET_REQ | REPLY: 0x82, Cmd.SERIALNO_REQ | REPLY: 8, Cmd.FWV_REQ | REPLY: 8}
)

# SET_MODE_REQ values (volatile) per receive mode.
MODE_CODES: dict[ListenMode, int] = {
    ListenMode.C1: 0x0E,  # C2-Other: C1 receive
    ListenMode.T1: 0x08,  # T2-Other: T1 receive
    ListenMode.C1_T1: 0x09,  # C2/T2-Other: C1 + T1 receive
}

# Configuration memory (addresses = offsets after the GET reply's 5-byte prefix).
UART_CMD_OUT_ENABLE = 0x05
RSSI_ENABLE = 0x45
CONFIG_READ_LEN = 0x80
# What must be set for us to get command-mode data indications with RSSI.
REQUIRED_SETTINGS: dict[int, int] = {UART_CMD_OUT_ENABLE: 1, RSSI_ENABLE: 1}


@dataclass(frozen=True, slots=True)
class AmberMessage:
    cmd: int
    payload: bytes = b""

    def to_bytes(self) -> bytes:
        body = bytes([SOF, self.cmd, len(self.payload)]) + self.payload
        return body + bytes([checksum(body)])


def checksum(data: bytes | bytearray) -> int:
    return reduce(xor, data, 0)


def rssi_dbm(raw: int) -> float:
    """CC1101-style: (int8)raw / 2 − 74, keeping the half dB."""
    signed = raw - 256 if raw >= 128 else raw
    return signed / 2 - 74


class AmberFramer(StartByteFramer[AmberMessage]):
    """Bytes in any chunking -> AmberMessages (see framing.py for how a bad frame costs nothing).

    The XOR checksum is a weak check, so every frame must also not hide a passing frame inside.
    """

    sof = SOF

    def classify(self, buf: bytearray, at: int) -> tuple[Verdict, int, str]:
        if len(buf) - at < 3:
            return Verdict.NEED_MORE, 0, ""
        cmd, length = buf[at + 1], buf[at + 2]
        cap = MAX_PAYLOAD.get(cmd)
        if cap is None or length > cap:
            return Verdict.BAD, 0, "bad_headers"
        if cmd == Cmd.DATA_IND:
            if length < MIN_TELEGRAM:
                return Verdict.BAD, 0, "bad_headers"
            if len(buf) - at < 4:
                return Verdict.NEED_MORE, 0, ""
            if buf[at + 3] not in C_FIELDS:
                return Verdict.BAD, 0, "bad_headers"
        size = 3 + length + 1
        if len(buf) - at < size:
            return Verdict.NEED_MORE, size, ""
        if checksum(buf[at : at + size - 1]) != buf[at + size - 1]:
            return Verdict.BAD, size, "checksum_errors"
        return Verdict.WEAK, size, ""

    def build(self, frame: bytes) -> AmberMessage:
        return AmberMessage(frame[1], frame[3:-1])


# ---- commands (pure) ----


def get_config_request() -> bytes:
    return AmberMessage(Cmd.GET_REQ, bytes([0x00, CONFIG_READ_LEN])).to_bytes()


def set_request(address: int, value: int) -> bytes:
    return AmberMessage(Cmd.SET_REQ, bytes([address, 1, value])).to_bytes()


def reset_request() -> bytes:
    return AmberMessage(Cmd.RESET_REQ).to_bytes()


def set_mode_request(mode: ListenMode) -> bytes:
    return AmberMessage(Cmd.SET_MODE_REQ, bytes([MODE_CODES[mode]])).to_bytes()


def parse_config(payload: bytes) -> bytes:
    """The configuration memory from a GET reply payload (`addr, n, values…`)."""
    if len(payload) < 2 or payload[0] != 0 or len(payload) != 2 + payload[1]:
        raise ValueError(f"malformed configuration reply ({len(payload)} bytes)")
    return payload[2:]


def telegram(msg: AmberMessage, rssi_appended: bool) -> tuple[bytes, float | None] | None:
    """(clean frame, RSSI dBm) of a data indication, or None for any other message."""
    if msg.cmd != Cmd.DATA_IND:
        return None
    if rssi_appended:
        body, rssi = msg.payload[:-1], rssi_dbm(msg.payload[-1]) if msg.payload else None
    else:
        body, rssi = msg.payload, None
    return bytes([len(body)]) + body, rssi


def _reply_to(cmd: Cmd) -> Callable[[AmberMessage], bool]:
    return lambda m: m.cmd == cmd | REPLY


class Amb8465Radio(SerialRadio[AmberMessage]):
    kind = "amb8465"
    baudrate = 9600

    def new_framer(self) -> AmberFramer:
        return AmberFramer()

    async def configure(self) -> None:
        rsp = await self.request(get_config_request(), _reply_to(Cmd.GET_REQ), "read config")
        try:
            config = parse_config(rsp.payload)
        except ValueError as exc:
            raise RadioLost(f"{self.name}: {exc}") from exc
        changed = []
        for address, value in REQUIRED_SETTINGS.items():
            if address >= len(config) or config[address] != value:
                rsp = await self.request(
                    set_request(address, value), _reply_to(Cmd.SET_REQ), "set config"
                )
                self._check_status(rsp, f"setting 0x{address:02X}")
                changed.append(f"0x{address:02X}")
        if changed:  # non-volatile settings take effect after a reset
            self._check_status(
                await self.request(reset_request(), _reply_to(Cmd.RESET_REQ), "reset"), "reset"
            )
        rsp = await self.request(
            set_mode_request(self.mode), _reply_to(Cmd.SET_MODE_REQ), "set mode"
        )
        self._check_status(rsp, "set mode")
        self.info = {"config_changed": ",".join(changed) or "none"}

    def _check_status(self, rsp: AmberMessage, what: str) -> None:
        if rsp.payload[:1] != b"\x00":
            raise RadioLost(f"{self.name}: {what} refused (reply {rsp.payload.hex()})")

    def to_frame(self, item: AmberMessage) -> RadioFrame | None:
        got = telegram(item, rssi_appended=True)
        if got is None:
            return None
        return self.clean_frame(*got)
