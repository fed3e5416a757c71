"""IMST iU891A / iM891A (the iM871A's successors): SLIP-framed HCI at 115200 Bd, a pure framer,
and the radio.

On the wire every message is SLIP-framed (END 0xC0 before and after; inside, 0xC0 is sent as
DB DC and 0xDB as DB DD). Unframed, a message is

    EP | MSGID | [STATUS] | payload | CRC-16/X-25 over EP..payload, little endian

Replies carry a STATUS byte (0 = ok); the receive indication (WMBUSGW 0x20) does not. Its
payload is 7 bytes we do not interpret (a time stamp and flags), the RSSI as a signed dBm byte,
then the telegram with its L field and without DLL CRCs. These facts come from one open driver
(no IMST document was seen): the framing was checked against its own worked example.

An END always ends a message, so a corrupt message costs only itself.
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Callable
from dataclasses import dataclass

from gatewayd.radios.base import ListenMode, RadioConfigError, RadioFrame, RadioLost
from gatewayd.radios.serialradio import SerialRadio
from gatewayd.wmbus.crc import crc16_x25

END, ESC, ESC_END, ESC_ESC = 0xC0, 0xDB, 0xDC, 0xDD
MAX_MESSAGE = 600  # the longest telegram (256 B) escaped twice over, with its header, fits
WAKE_UP = bytes([END]) * 30  # END bytes wake the stick; a receiver skips empty frames


class Endpoint(enum.IntEnum):
    DEVMGMT = 0x01
    WMBUSGW = 0x09


class DevMsg(enum.IntEnum):
    PING_REQ = 0x01
    PING_RSP = 0x02
    GET_DEVICE_INFO_REQ = 0x03
    GET_DEVICE_INFO_RSP = 0x04


class GwMsg(enum.IntEnum):
    GET_ACTIVE_CONFIG_REQ = 0x01
    GET_ACTIVE_CONFIG_RSP = 0x02
    SET_ACTIVE_CONFIG_REQ = 0x03
    SET_ACTIVE_CONFIG_RSP = 0x04
    RX_MESSAGE_IND = 0x20


# Link-mode codes of the active configuration (0 off, 1 S, 2 T, 3 C+T, 5 C, 6 enhanced T).
LINK_MODE_CODES: dict[ListenMode, int] = {ListenMode.C1: 5, ListenMode.T1: 2, ListenMode.C1_T1: 3}
OPTION_FILTER = 0x0001  # receive only listed meters: cleared, we want every telegram
OPTION_RX_IND = 0x0002  # send a receive indication per telegram: set
CONFIG_SIZE = 11  # link mode, options (2), UI options (2), LED flash ms (2), recalibrate ms (4)
MODULE_TYPES: dict[int, str] = {
    0x6D: "iM891A-XL",
    0x6E: "iU891A-XL",
    0xA3: "iM881A-XL",
    0x71: "iU893A-XL",
}
STATUS_TEXT: dict[int, str] = {
    1: "error",
    2: "command not supported",
    3: "wrong parameter",
    4: "wrong application mode",
    6: "busy",
    7: "wrong message length",
    10: "command rejected",
    11: "access denied",
}
RX_HEADER = 8  # 7 opaque bytes, then the RSSI


@dataclass(frozen=True, slots=True)
class IuMessage:
    endpoint: int
    msg_id: int
    payload: bytes = b""
    status: int | None = None  # replies only

    def to_bytes(self) -> bytes:
        """The message SLIP-framed, CRC appended (what goes on the wire)."""
        body = bytes([self.endpoint, self.msg_id])
        body += b"" if self.status is None else bytes([self.status])
        body += self.payload
        return slip_encode(body + crc16_x25(body).to_bytes(2, "little"))


def slip_encode(data: bytes) -> bytes:
    escaped = data.replace(bytes([ESC]), bytes([ESC, ESC_ESC])).replace(
        bytes([END]), bytes([ESC, ESC_END])
    )
    return bytes([END]) + escaped + bytes([END])


def has_status(endpoint: int, msg_id: int) -> bool:
    return not (endpoint == Endpoint.WMBUSGW and msg_id == GwMsg.RX_MESSAGE_IND)


class SlipFramer:
    """Bytes in any chunking -> IuMessages whose CRC checks; anything else is counted."""

    def __init__(self) -> None:
        self.counters: collections.Counter[str] = collections.Counter()
        self._buf = bytearray()
        self._overlong = False  # inside a message past MAX_MESSAGE: drop until the next END

    def feed(self, data: bytes) -> list[IuMessage]:
        out: list[IuMessage] = []
        start = 0
        while (end := data.find(END, start)) >= 0:
            if self._overlong:
                self._overlong = False  # the END after an overlong message: in sync again
            else:
                self._buf += data[start:end]
                if len(self._buf) > MAX_MESSAGE:
                    self.counters["overlong_messages"] += 1
                elif self._buf:  # END END is an empty frame (idle, wake-up): nothing
                    msg = self.parse(bytes(self._buf))
                    if msg is not None:
                        out.append(msg)
            self._buf.clear()
            start = end + 1
        if not self._overlong:
            self._buf += data[start:]
            if len(self._buf) > MAX_MESSAGE:
                self.counters["overlong_messages"] += 1
                self._buf.clear()
                self._overlong = True
        return out

    def parse(self, raw: bytes) -> IuMessage | None:
        """One SLIP frame's content -> a message, or None (counted) when it is not one."""
        body = _unescape(raw)
        if body is None:
            self.counters["bad_escapes"] += 1
            return None
        if len(body) < 4 or (has_status(body[0], body[1]) and len(body) < 5):
            self.counters["short_messages"] += 1
            return None
        if crc16_x25(body[:-2]) != int.from_bytes(body[-2:], "little"):
            self.counters["crc_errors"] += 1
            return None
        self.counters["messages"] += 1
        endpoint, msg_id = body[0], body[1]
        if has_status(endpoint, msg_id):
            return IuMessage(endpoint, msg_id, body[3:-2], body[2])
        return IuMessage(endpoint, msg_id, body[2:-2])


def _unescape(raw: bytes) -> bytes | None:
    """SLIP payload -> bytes; None when an ESC is not followed by ESC_END or ESC_ESC."""
    if ESC not in raw:
        return raw
    out = bytearray()
    it = iter(raw)
    for b in it:
        if b == ESC:
            nxt = next(it, None)
            if nxt == ESC_END:
                out.append(END)
            elif nxt == ESC_ESC:
                out.append(ESC)
            else:
                return None
        else:
            out.append(b)
    return bytes(out)


# ---- commands and replies (pure) ----


def request(endpoint: int, msg_id: int, payload: bytes = b"") -> bytes:
    return IuMessage(endpoint, msg_id, payload).to_bytes()


def device_info_request() -> bytes:
    return request(Endpoint.DEVMGMT, DevMsg.GET_DEVICE_INFO_REQ)


def get_config_request() -> bytes:
    return request(Endpoint.WMBUSGW, GwMsg.GET_ACTIVE_CONFIG_REQ)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    module_type: int
    uid: int

    @property
    def module_name(self) -> str:
        return MODULE_TYPES.get(self.module_type, f"unknown module 0x{self.module_type:02X}")

    @classmethod
    def parse(cls, payload: bytes) -> DeviceInfo:
        if len(payload) < 5:
            raise ValueError(f"device info needs at least 5 bytes, got {len(payload)}")
        return cls(payload[0], int.from_bytes(payload[1:5], "little"))


@dataclass(frozen=True, slots=True)
class ActiveConfig:
    link_mode: int
    options: int
    ui_options: int
    led_flash_ms: int
    recalibrate_ms: int

    @classmethod
    def parse(cls, payload: bytes) -> ActiveConfig:
        if len(payload) < CONFIG_SIZE:
            raise ValueError(f"configuration needs {CONFIG_SIZE} bytes, got {len(payload)}")
        le = int.from_bytes
        return cls(
            payload[0], le(payload[1:3], "little"), le(payload[3:5], "little"),
            le(payload[5:7], "little"), le(payload[7:11], "little"),
        )  # fmt: skip

    def to_bytes(self) -> bytes:
        return (
            bytes([self.link_mode])
            + self.options.to_bytes(2, "little")
            + self.ui_options.to_bytes(2, "little")
            + self.led_flash_ms.to_bytes(2, "little")
            + self.recalibrate_ms.to_bytes(4, "little")
        )

    def receiving(self, mode: ListenMode) -> ActiveConfig:
        """This configuration set to receive `mode`: every telegram, each indicated to us."""
        options = (self.options & ~OPTION_FILTER) | OPTION_RX_IND
        return ActiveConfig(
            LINK_MODE_CODES[mode], options, self.ui_options, self.led_flash_ms, self.recalibrate_ms
        )


def set_config_request(config: ActiveConfig) -> bytes:
    return request(Endpoint.WMBUSGW, GwMsg.SET_ACTIVE_CONFIG_REQ, config.to_bytes())


def telegram(msg: IuMessage) -> tuple[bytes, float] | None:
    """(clean frame, RSSI dBm) of a receive indication; None for any other message, or for an
    indication too short to hold a telegram."""
    if msg.endpoint != Endpoint.WMBUSGW or msg.msg_id != GwMsg.RX_MESSAGE_IND:
        return None
    if len(msg.payload) <= RX_HEADER:
        return None
    rssi = msg.payload[RX_HEADER - 1]
    return msg.payload[RX_HEADER:], float(rssi - 256 if rssi >= 128 else rssi)


def _reply_to(endpoint: Endpoint, msg_id: int) -> Callable[[IuMessage], bool]:
    return lambda m: m.endpoint == endpoint and m.msg_id == msg_id


class Iu891aRadio(SerialRadio[IuMessage]):
    kind = "iu891a"
    baudrate = 115200

    def new_framer(self) -> SlipFramer:
        return SlipFramer()

    async def configure(self) -> None:
        await self.send(WAKE_UP)
        rsp = await self.request(
            device_info_request(),
            _reply_to(Endpoint.DEVMGMT, DevMsg.GET_DEVICE_INFO_RSP),
            "get device info",
        )
        self._check(rsp, "get device info")
        try:
            info = DeviceInfo.parse(rsp.payload)
        except ValueError as exc:
            raise RadioLost(f"{self.name}: bad device info reply: {exc}") from exc
        self.info = {"module": info.module_name, "uid": f"{info.uid:08X}"}
        rsp = await self.request(
            get_config_request(),
            _reply_to(Endpoint.WMBUSGW, GwMsg.GET_ACTIVE_CONFIG_RSP),
            "get configuration",
        )
        self._check(rsp, "get configuration")
        try:
            active = ActiveConfig.parse(rsp.payload)
        except ValueError as exc:
            raise RadioLost(f"{self.name}: bad configuration reply: {exc}") from exc
        rsp = await self.request(
            set_config_request(active.receiving(self.mode)),
            _reply_to(Endpoint.WMBUSGW, GwMsg.SET_ACTIVE_CONFIG_RSP),
            "set link mode",
        )
        if rsp.status in (2, 3, 4):  # not supported / wrong parameter / wrong mode: final
            raise RadioConfigError(
                f"{self.name}: this {info.module_name} refused mode {self.mode.value} "
                f"({STATUS_TEXT[rsp.status or 0]})"
            )
        self._check(rsp, "set link mode")

    def _check(self, rsp: IuMessage, what: str) -> None:
        if rsp.status:
            text = STATUS_TEXT.get(rsp.status, f"status {rsp.status}")
            raise RadioLost(f"{self.name}: {what} refused ({text})")

    def to_frame(self, item: IuMessage) -> RadioFrame | None:
        got = telegram(item)
        if got is None:
            if item.msg_id == GwMsg.RX_MESSAGE_IND and item.endpoint == Endpoint.WMBUSGW:
                self.counters["short_telegrams"] += 1
            return None
        frame, rssi = got
        if frame[0] != len(frame) - 1:
            self.counters["l_mismatch"] += 1  # not the clean frame we know: drop, do not guess
            return None
        return self.clean_frame(frame, rssi)
