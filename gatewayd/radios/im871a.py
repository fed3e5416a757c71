"""IMST iM871A / iM170A: the HCI protocol (PROTOCOL.md §6.1), a pure framer, and the radio.

HCI frame: A5 | CTRL<<4 | EP | MSGID | LEN | payload | [timestamp 4 LE] | [RSSI 1] | [CRC 2 LE].
The CRC (CRC-16/X-25) covers everything after A5. A received telegram (RADIOLINK 03) carries no
L byte and no DLL CRCs: the clean frame is LEN || payload.
"""

from __future__ import annotations

import collections
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

from gatewayd.radios.base import ListenMode, RadioConfigError, RadioFrame, RadioLost
from gatewayd.radios.framing import skip_to_start
from gatewayd.radios.serialradio import SerialRadio
from gatewayd.wmbus.crc import crc16_x25
from gatewayd.wmbus.link import FrameFormat

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


# Link-mode numbers for SET_CONFIG (⚠ from open-source drivers, PROTOCOL.md §10.4).
LINK_MODE_CODES: dict[ListenMode, int] = {
    ListenMode.T1: 3,
    ListenMode.C1: 7,  # C1 frame B, as wmbusmeters uses for C1 receive
    ListenMode.C1_T1: 10,  # firmware >= 0x14 only
}
C1_T1_MIN_FIRMWARE = 0x14
MODULE_TYPES: dict[int, str] = {0x33: "iM871A", 0x36: "iM170A"}


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


class ImstFramer:
    """Bytes in any chunking -> HciMessages. Resyncs to the next A5 on a bad header or CRC."""

    def __init__(self) -> None:
        self.counters: collections.Counter[str] = collections.Counter()
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[HciMessage]:
        self._buf += data
        out: list[HciMessage] = []
        buf = self._buf
        while skip_to_start(buf, SOF, self.counters):
            if len(buf) < 4:
                break
            ctrl, endpoint = buf[1] >> 4, buf[1] & 0x0F
            if ctrl & 0x1 or endpoint not in Endpoint._value2member_map_:
                self.counters["bad_headers"] += 1
                del buf[:1]
                continue
            size = 4 + buf[3]
            ts_at = size
            size += 4 if ctrl & CTRL_TIMESTAMP else 0
            rssi_at = size
            size += 1 if ctrl & CTRL_RSSI else 0
            crc_at = size
            size += 2 if ctrl & CTRL_CRC else 0
            if len(buf) < size:
                break
            if ctrl & CTRL_CRC and crc16_x25(buf[1:crc_at]) != int.from_bytes(
                buf[crc_at:size], "little"
            ):
                self.counters["crc_errors"] += 1
                del buf[:1]
                continue
            out.append(
                HciMessage(
                    endpoint=endpoint,
                    msg_id=buf[2],
                    payload=bytes(buf[4 : 4 + buf[3]]),
                    timestamp=(
                        int.from_bytes(buf[ts_at : ts_at + 4], "little")
                        if ctrl & CTRL_TIMESTAMP
                        else None
                    ),
                    rssi_raw=buf[rssi_at] if ctrl & CTRL_RSSI else None,
                    crc=bool(ctrl & CTRL_CRC),
                )
            )
            self.counters["messages"] += 1
            del buf[:size]
        return out


# ---- commands (pure) ----


def ping_request() -> bytes:
    return HciMessage(Endpoint.DEVMGMT, Msg.PING_REQ).to_bytes()


def device_info_request() -> bytes:
    return HciMessage(Endpoint.DEVMGMT, Msg.GET_DEVICEINFO_REQ).to_bytes()


def set_config_request(mode: ListenMode) -> bytes:
    """Volatile SET_CONFIG: link mode, RSSI on, timestamp off (PROTOCOL.md §6.1)."""
    payload = bytes([0x00, 0x02, LINK_MODE_CODES[mode], 0x30, 0x01, 0x00])
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
    kind = "im871a"
    baudrate = 57600

    def new_framer(self) -> ImstFramer:
        return ImstFramer()

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
        if self.mode is ListenMode.C1_T1 and info.firmware < C1_T1_MIN_FIRMWARE:
            raise RadioConfigError(
                f"{self.name}: mode c1+t1 needs firmware >= 0x{C1_T1_MIN_FIRMWARE:02X}, "
                f"this {info.module_name} has 0x{info.firmware:02X}"
            )
        rsp = await self.request(
            set_config_request(self.mode), reply(Msg.SET_CONFIG_RSP), "set link mode"
        )
        if rsp.payload[:1] not in (b"", b"\x00"):
            raise RadioLost(f"{self.name}: link mode refused (status 0x{rsp.payload[0]:02X})")

    def to_frame(self, item: HciMessage) -> RadioFrame | None:
        got = telegram(item)
        if got is None:
            return None
        frame, rssi = got
        if len(item.payload) < MIN_TELEGRAM:
            self.counters["short_telegrams"] += 1
            return None
        return RadioFrame(
            frame=frame,
            rssi_dbm=rssi,
            link_mode=self.mode.link_mode,
            frame_format=FrameFormat.CLEAN,
            received_at=time.time(),
            radio=self.name,
        )
