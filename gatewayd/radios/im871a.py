"""IMST iM871A: the HCI protocol, a pure framer, and the radio (an iM170A is refused).

HCI frame: A5 | CTRL<<4 | EP | MSGID | LEN | payload | [timestamp 4 LE] | [RSSI 1] | [CRC 2 LE].
The CRC (CRC-16/X-25) covers everything after A5. A received telegram (RADIOLINK 03) carries no
L byte and no DLL CRCs: the clean frame is LEN || payload.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from gatewayd.radios.base import ListenMode, RadioConfigError, RadioFrame, RadioLost
from gatewayd.radios.framing import StartByteFramer, Verdict
from gatewayd.radios.serialradio import SerialRadio
from gatewayd.wmbus.crc import crc16_x25

log = logging.getLogger(__name__)

SOF = 0xA5
CTRL_TIMESTAMP = 0x2
CTRL_RSSI = 0x4
CTRL_CRC = 0x8
MIN_TELEGRAM = 10  # C M M A A A A A A CI


class Endpoint(enum.IntEnum):
    DEVMGMT = 0x01
    RADIOLINK = 0x02
    RADIOLINKTEST = 0x03
    HWTEST = 0x04


class Msg(enum.IntEnum):
    """Message ids used here (DEVMGMT unless noted)."""

    PING_REQ = 0x01
    PING_RSP = 0x02
    SET_CONFIG_REQ = 0x03
    SET_CONFIG_RSP = 0x04
    GET_DEVICEINFO_REQ = 0x0F
    GET_DEVICEINFO_RSP = 0x10
    WMBUS_DATA_IND = 0x03  # RADIOLINK


# Link-mode numbers for SET_CONFIG (from two open-source drivers; no IMST document was seen).
LINK_MODE_CODES: dict[ListenMode, int] = {
    ListenMode.T1: 3,
    ListenMode.C1: 7,  # C1 frame B, what the reference decoder uses for C1 receive
    ListenMode.C1_T1: 10,  # firmware >= 0x14 only
}
# `c1_frame`: which C1 frame format code 6 (A) or 7 (B, the default) asks for. Whether the
# module then also hears the other format is not settled by any public source.
C1_FRAME_CODES: dict[str, int] = {"a": 6, "b": 7}
C1_T1_MIN_FIRMWARE = 0x14
IM871A, IM170A = 0x33, 0x36
MODULE_TYPES: dict[int, str] = {IM871A: "iM871A", IM170A: "iM170A"}


@dataclass(frozen=True, slots=True)
class HciMessage:
    endpoint: int
    msg_id: int
    payload: bytes = b""
    timestamp: int | None = None
    rssi_raw: int | None = None
    crc: bool = False

    def to_bytes(self) -> bytes:
        ctrl = (
            (CTRL_TIMESTAMP if self.timestamp is not None else 0)
            | (CTRL_RSSI if self.rssi_raw is not None else 0)
            | (CTRL_CRC if self.crc else 0)
        )
        body = bytearray([(ctrl << 4) | self.endpoint, self.msg_id, len(self.payload)])
        body += self.payload
        if self.timestamp is not None:
            body += self.timestamp.to_bytes(4, "little")
        if self.rssi_raw is not None:
            body.append(self.rssi_raw)
        if self.crc:
            body += crc16_x25(body).to_bytes(2, "little")
        return bytes([SOF]) + bytes(body)


def rssi_dbm(raw: int) -> float:
    """wmbusmeters' straight-line fit (⚠ not an IMST formula): 0.5·raw − 122.5, 0 dBm from 230."""
    return 0.0 if raw >= 230 else 0.5 * raw - 122.5


# Replies the module sends, by (endpoint, message id), and the longest payload each carries: a
# header announcing more is not a frame (so a false start never waits for 255 bytes).
REPLY_MAX_PAYLOAD: dict[tuple[int, int], int] = {
    (Endpoint.DEVMGMT, Msg.PING_RSP): 1,
    (Endpoint.DEVMGMT, Msg.SET_CONFIG_RSP): 1,
    (Endpoint.DEVMGMT, 0x06): 0x40,  # GET_CONFIG reply
    (Endpoint.DEVMGMT, 0x08): 1,  # reset reply
    (Endpoint.DEVMGMT, Msg.GET_DEVICEINFO_RSP): 0x10,
    (Endpoint.DEVMGMT, 0x27): 0x40,  # AES decode error indication
    (Endpoint.RADIOLINK, 0x02): 1,  # send confirmation
}
# C fields a receive-only gateway accepts in a data indication (SND_NR/IR, ACC_NR/DMD, RSP_UD).
C_FIELDS = frozenset({0x44, 0x46, 0x47, 0x48, 0x08, 0x18, 0x28, 0x38})


class ImstFramer(StartByteFramer[HciMessage]):
    """Bytes in any chunking -> HciMessages (see framing.py for how a bad frame costs nothing).

    require_crc: the module sends CRCs, so a header without the CRC flag is not a frame
    (counted as `missing_crc`). Without it a frame has no check of its own.
    """

    sof = SOF

    def __init__(self, *, require_crc: bool = False) -> None:
        super().__init__()
        self.require_crc = require_crc

    def classify(self, buf: bytearray, at: int) -> tuple[Verdict, int, str]:
        if len(buf) - at < 2:
            return Verdict.NEED_MORE, 0, ""
        ctrl, endpoint = buf[at + 1] >> 4, buf[at + 1] & 0x0F
        if ctrl & 0x1 or endpoint not in Endpoint._value2member_map_:
            return Verdict.BAD, 0, "bad_headers"
        if len(buf) - at < 4:
            return Verdict.NEED_MORE, 0, ""
        msg_id, length = buf[at + 2], buf[at + 3]
        if endpoint == Endpoint.RADIOLINK and msg_id == Msg.WMBUS_DATA_IND:
            if length < MIN_TELEGRAM:
                return Verdict.BAD, 0, "bad_headers"
            if len(buf) - at < 5:
                return Verdict.NEED_MORE, 0, ""
            if buf[at + 4] not in C_FIELDS:
                return Verdict.BAD, 0, "bad_headers"
        elif length > REPLY_MAX_PAYLOAD.get((endpoint, msg_id), -1):
            return Verdict.BAD, 0, "bad_headers"
        if self.require_crc and not ctrl & CTRL_CRC:
            return Verdict.BAD, 0, "missing_crc"
        crc_at = 4 + length + (4 if ctrl & CTRL_TIMESTAMP else 0) + (1 if ctrl & CTRL_RSSI else 0)
        size = crc_at + (2 if ctrl & CTRL_CRC else 0)
        if len(buf) - at < size:
            return Verdict.NEED_MORE, size, ""
        if not ctrl & CTRL_CRC:
            return Verdict.WEAK, size, ""
        crc = int.from_bytes(buf[at + crc_at : at + size], "little")
        if crc16_x25(buf[at + 1 : at + crc_at]) != crc:
            return Verdict.BAD, size, "crc_errors"
        return Verdict.GOOD, size, ""

    def build(self, frame: bytes) -> HciMessage:
        ctrl, length = frame[1] >> 4, frame[3]
        rssi_at = 4 + length + (4 if ctrl & CTRL_TIMESTAMP else 0)
        return HciMessage(
            endpoint=frame[1] & 0x0F,
            msg_id=frame[2],
            payload=frame[4 : 4 + length],
            timestamp=(
                int.from_bytes(frame[4 + length : rssi_at], "little")
                if ctrl & CTRL_TIMESTAMP
                else None
            ),
            rssi_raw=frame[rssi_at] if ctrl & CTRL_RSSI else None,
            crc=bool(ctrl & CTRL_CRC),
        )


# ---- commands (pure) ----


def ping_request() -> bytes:
    return HciMessage(Endpoint.DEVMGMT, Msg.PING_REQ).to_bytes()


def device_info_request() -> bytes:
    return HciMessage(Endpoint.DEVMGMT, Msg.GET_DEVICEINFO_REQ).to_bytes()


def set_config_request(mode: ListenMode, c1_frame: str = "b") -> bytes:
    """Volatile SET_CONFIG: link mode, RSSI on, timestamp off."""
    code = C1_FRAME_CODES[c1_frame] if mode is ListenMode.C1 else LINK_MODE_CODES[mode]
    payload = bytes([0x00, 0x02, code, 0x30, 0x01, 0x00])
    return HciMessage(Endpoint.DEVMGMT, Msg.SET_CONFIG_REQ, payload).to_bytes()


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    module_type: int
    device_mode: int
    firmware: int
    hci_version: int
    uid: int

    @property
    def module_name(self) -> str:
        return MODULE_TYPES.get(self.module_type, f"unknown module 0x{self.module_type:02X}")

    @classmethod
    def parse(cls, payload: bytes) -> DeviceInfo:
        if len(payload) < 8:
            raise ValueError(f"device info needs 8 bytes, got {len(payload)}")
        return cls(
            payload[0], payload[1], payload[2], payload[3], int.from_bytes(payload[4:8], "little")
        )


def telegram(msg: HciMessage) -> tuple[bytes, float | None] | None:
    """(clean frame, RSSI dBm) of a data indication, or None for any other message."""
    if msg.endpoint != Endpoint.RADIOLINK or msg.msg_id != Msg.WMBUS_DATA_IND:
        return None
    rssi = None if msg.rssi_raw is None else rssi_dbm(msg.rssi_raw)
    return bytes([len(msg.payload)]) + msg.payload, rssi


class Im871aRadio(SerialRadio[HciMessage]):
    """An iM871A. c1_frame: "b" (default) or "a", the C1 frame format asked for in mode c1."""

    kind = "im871a"
    baudrate = 57600

    def __init__(
        self,
        device: str,
        mode: ListenMode,
        *,
        reply_timeout_s: float = 1.0,
        c1_frame: str = "b",
    ) -> None:
        if c1_frame not in C1_FRAME_CODES:
            raise ValueError(f"c1_frame must be 'a' or 'b', got {c1_frame!r}")
        super().__init__(device, mode, reply_timeout_s=reply_timeout_s)
        self.c1_frame = c1_frame

    def new_framer(self) -> ImstFramer:
        self._hci = ImstFramer()
        return self._hci

    async def configure(self) -> None:
        def reply(msg_id: Msg) -> Callable[[HciMessage], bool]:
            return lambda m: m.endpoint == Endpoint.DEVMGMT and m.msg_id == msg_id

        await self.request(ping_request(), reply(Msg.PING_RSP), "ping")
        rsp = await self.request(
            device_info_request(), reply(Msg.GET_DEVICEINFO_RSP), "get device info"
        )
        try:
            info = DeviceInfo.parse(rsp.payload)
        except ValueError as exc:
            raise RadioLost(f"{self.name}: bad device info reply: {exc}") from exc
        self.info = {
            "module": info.module_name,
            "firmware": f"0x{info.firmware:02X}",
            "uid": f"{info.uid:08X}",
        }
        if info.module_type == IM170A:
            raise RadioConfigError(
                f"{self.name}: this is an iM170A, a 169 MHz module: it cannot receive the "
                f'868 MHz wM-Bus modes (c1, t1) that kind = "im871a" configures. '
                "Use an 868 MHz receiver (iM871A, iU891A, AMB8465, CUL)."
            )
        if self.mode is ListenMode.C1_T1 and info.firmware < C1_T1_MIN_FIRMWARE:
            raise RadioConfigError(
                f"{self.name}: mode c1+t1 needs firmware >= 0x{C1_T1_MIN_FIRMWARE:02X}, "
                f"this {info.module_name} has 0x{info.firmware:02X}"
            )
        rsp = await self.request(
            set_config_request(self.mode, self.c1_frame),
            reply(Msg.SET_CONFIG_RSP),
            "set link mode",
        )
        if rsp.payload[:1] not in (b"", b"\x00"):
            raise RadioLost(f"{self.name}: link mode refused (status 0x{rsp.payload[0]:02X})")

    def to_frame(self, item: HciMessage) -> RadioFrame | None:
        if item.crc and not self._hci.require_crc:
            # The module sends CRCs: from now on a message without one is a false start.
            self._hci.require_crc = True
            log.debug("%s: module sends CRCs; messages without one are rejected", self.name)
        got = telegram(item)
        if got is None:
            return None
        return self.clean_frame(*got)
